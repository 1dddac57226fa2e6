-- The policy the hostile-session fuzzers run: it rejects a recipient,
-- reads the body, edits a header and tempfails on a word in the body, so
-- a session uses every buffer a message can leave behind.
local mod = {}
function mod:validate_rcptto(msg, str, ac, vctx)
  if string.find(str, "reject") then vctx:set_code(550, "5.1.1 no") return msys.core.VALIDATE_DONE end
  return msys.core.VALIDATE_CONT
end
function mod:validate_data_spool(msg, ac, vctx)
  local b = msg:body()
  msg:header("X-Len", tostring(#b))
  if string.find(b, "tempfail") then vctx:set_code(451, "4.7.1 later") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("fuzz", mod)
