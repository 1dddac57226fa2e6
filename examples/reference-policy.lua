-- Reference policy, the same small policy every benchmarked milter runs
-- (see bench/README.md):
--
--   MAIL FROM in domain bad.example              -> 550 5.7.1
--   RCPT TO nobody@example.com                   -> 550 5.1.1, that recipient only
--   end of message: Subject contains "viagra"    -> 550 5.7.1
--                   otherwise add "X-Policy: checked" and accept
--
-- Domain and address comparisons ignore case. The reply texts are the ones
-- the plain-Go implementation uses, so a load generator can check both.
local core = msys.core
local lower, find = string.lower, string.find

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
  msg:header("X-Policy", "checked", "append")
  return core.VALIDATE_CONT
end

msys.registerModule("reference_policy", mod)
