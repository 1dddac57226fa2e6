local mod = {}
function mod:validate_ehlo(str, ac, vctx)
  if string.find(tostring(str), "localhost", 1, true) then
    vctx:set_code(550, "5.7.1 Bad HELO")
    return msys.core.VALIDATE_DONE
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("ehlo_phase", mod)
