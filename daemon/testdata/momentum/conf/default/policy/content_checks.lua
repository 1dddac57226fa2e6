local mod = {}
function mod:validate_data_spool(msg, ac, vctx)
  msg:header("X-Checked", "yes", "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("content_checks", mod)
