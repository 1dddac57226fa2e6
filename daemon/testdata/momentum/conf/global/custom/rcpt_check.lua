local mod = {}
function mod:validate_rcptto(msg, str, ac, vctx)
  if vctx:get(msys.core.VCTX_MESS, "rcptto_localpart") == "nobody" then
    vctx:set_code(550, "5.1.1 No such user")
    return msys.core.VALIDATE_DONE
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("rcpt_check", mod)
