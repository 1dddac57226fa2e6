-- Example policy for luamilter, written as for Momentum.
local mod = {}

function mod:validate_connect(ac, vctx)
  self.peer = tostring(ac.remote_addr)
  return msys.core.VALIDATE_CONT
end

function mod:validate_mailfrom(str, ac, vctx)
  if string.find(tostring(str), "@bad.example>", 1, true) != nil then
    vctx:set_code(550, "5.7.1 Sender domain bad.example is not welcome here")
    return msys.core.VALIDATE_DONE
  end
  return msys.core.VALIDATE_CONT
end

function mod:validate_rcptto(msg, str, ac, vctx)
  if vctx:get(msys.core.VCTX_MESS, "rcptto_localpart") == "nobody" then
    vctx:set_code(550, "5.1.1 No such user here")
    return msys.core.VALIDATE_DONE
  end
  return msys.core.VALIDATE_CONT
end

function mod:validate_data(msg, ac, vctx)
  local subject = msg:header("Subject")[1] or ""
  if string.find(string.lower(subject), "viagra", 1, true) then
    vctx:set_code(550, "5.7.1 Message looks like spam")
    return msys.core.VALIDATE_DONE
  end
  msg:header("X-Policy", "checked by luamilter from " .. self.peer, "append")
  return msys.core.VALIDATE_CONT
end

msys.registerModule("example_policy", mod)
