-- Content policy: the reference policy (reference-policy.lua) plus a scan
-- of the body at end of message, the rule a content filter adds:
--
--   MAIL FROM in domain bad.example              -> 550 5.7.1
--   RCPT TO nobody@example.com                   -> 550 5.1.1, that recipient only
--   end of message: Subject contains "viagra"    -> 550 5.7.1
--                   body matches BODY_PATTERN     -> 550 5.7.1
--                   otherwise add "X-Policy: checked" and accept
--
-- The body pattern and the reply texts are those of the plain-Go content
-- milter the benchmark compares with (`gopolicy -content`), so a load
-- generator can check both. msg:body_match sees the body as received,
-- encoded, which is also what the Go milter scans. The Go milter's (?i)
-- also folds a few non-ASCII letters (U+017F for s); PCRE here matches
-- bytes, ASCII case only. milterload's bodies are ASCII and never match,
-- so every message costs a scan of its whole body.
local core = msys.core
local lower, find = string.lower, string.find

local BODY_PATTERN = [[(?i)\bv[i1!]agra\b|casino\s+bonus]]

local mod = {}

function mod:validate_mailfrom(str, ac, vctx)
  if lower(vctx:get(core.VCTX_MESS, "mailfrom_domain")) == "bad.example" then
    vctx:set_code(550, "5.7.1 Sender domain rejected by policy")
    return core.VALIDATE_DONE
  end
  return core.VALIDATE_CONT
end

function mod:validate_rcptto(msg, str, ac, vctx)
  if lower(msg:rcptto()) == "nobody@example.com" then
    vctx:set_code(550, "5.1.1 Recipient rejected by policy")
    return core.VALIDATE_DONE
  end
  return core.VALIDATE_CONT
end

function mod:validate_data(msg, ac, vctx)
  local subjects = msg:header("Subject")
  for i = 1, #subjects do
    if find(lower(subjects[i]), "viagra", 1, true) then
      vctx:set_code(550, "5.7.1 Message content rejected by policy")
      return core.VALIDATE_DONE
    end
  end
  if msg:body_match(BODY_PATTERN) then
    vctx:set_code(550, "5.7.1 Message content rejected by policy")
    return core.VALIDATE_DONE
  end
  msg:header("X-Policy", "checked", "append")
  return core.VALIDATE_CONT
end

msys.registerModule("content_policy", mod)
