-- Content scan: the rule a content filter adds to the reference policy,
-- loaded after it (luamilter serve -s examples/reference-policy.lua
-- -s examples/content-scan.lua):
--
--   end of message: body matches BODY_PATTERN    -> 550 5.7.1
--
-- The reference policy's validate_data runs first and ends the phase
-- (VALIDATE_DONE) when it refuses the Subject, so the scan runs only on
-- mail it would accept. The body pattern and the reply text are those of
-- the plain-Go content milter the benchmark compares with
-- (`gopolicy -content`), so a load generator can check both.
-- msg:body_match sees the body as received, encoded, which is also what
-- the Go milter scans. The Go milter's (?i) also folds a few non-ASCII
-- letters (U+017F for s); PCRE here matches bytes, ASCII case only.
-- milterload's bodies are ASCII and never match, so every message costs a
-- scan of its whole body.
local core = msys.core

local BODY_PATTERN = [[(?i)\bv[i1!]agra\b|casino\s+bonus]]

local mod = {}

function mod:validate_data(msg, ac, vctx)
  if msg:body_match(BODY_PATTERN) then
    vctx:set_code(550, "5.7.1 Message content rejected by policy")
    return core.VALIDATE_DONE
  end
  return core.VALIDATE_CONT
end

msys.registerModule("content_scan", mod)
