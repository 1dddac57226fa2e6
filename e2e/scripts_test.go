package e2e

// Scenario policies. They decide by substrings of the EHLO name and the
// envelope addresses, so one script covers many cases and every test can
// keep its addresses unique with a suffix.

// policyPrelude has helpers shared by the scenario scripts.
const policyPrelude = `
local CONT = msys.core.VALIDATE_CONT
local DONE = msys.core.VALIDATE_DONE
local MESS = msys.core.VCTX_MESS

local function has(s, needle)
  return string.find(s, needle, 1, true) ~= nil
end

local function addr(cmdline)
  return string.match(cmdline, "<(.-)>") or ""
end
`

// verdictPolicy answers every SMTP stage with a verdict chosen by the
// EHLO name or the sender/recipient local part.
const verdictPolicy = policyPrelude + `
local mod = {}

function mod:validate_ehlo(str, ac, vctx)
  local s = tostring(str)
  if has(s, "reject-ehlo") then
    vctx:set_code(550, "5.7.1 ehlo refused by policy")
    return DONE
  end
  return CONT
end

function mod:validate_mailfrom(str, ac, vctx)
  local s = tostring(str)
  vctx:set(MESS, "e2e_from", addr(s))
  if has(s, "reject-mail") then
    vctx:set_code(553, "5.7.1 sender refused by policy")
    return DONE
  elseif has(s, "tempfail-mail") then
    vctx:set_code(451, "4.7.1 sender greylisted, try later")
    return DONE
  elseif has(s, "multiline-mail") then
    vctx:set_code(550, "5.7.1 first line\n5.7.1 second line\n5.7.1 third line")
    return DONE
  elseif has(s, "disconnect-mail") then
    vctx:disconnect(421, "4.7.0 closing by policy")
    return DONE
  end
  return CONT
end

function mod:validate_rcptto(msg, str, ac, vctx)
  local s = tostring(str)
  if has(s, "reject-rcpt") then
    vctx:set_code(550, "5.1.1 no such user here")
    return DONE
  elseif has(s, "tempfail-rcpt") then
    vctx:set_code(450, "4.2.1 mailbox busy")
    return DONE
  end
  return CONT
end

function mod:validate_rcptto_list_final(node, vctx)
  local from = vctx:get(MESS, "e2e_from") or ""
  if has(from, "reject-data") then
    vctx:set_code(554, "5.7.1 data refused by policy")
    return DONE
  end
  return CONT
end

function mod:validate_data(msg, ac, vctx)
  local from = vctx:get(MESS, "e2e_from") or ""
  if has(from, "reject-eom") then
    vctx:set_code(550, "5.7.1 content refused by policy")
    return DONE
  elseif has(from, "tempfail-eom") then
    vctx:set_code(451, "4.7.1 content scan unavailable")
    return DONE
  elseif has(from, "discard-eom") then
    msg:discard()
    return DONE
  elseif has(from, "disconnect-eom") then
    vctx:disconnect(421, "4.7.0 closing after content")
    return DONE
  end
  return CONT
end

msys.registerModule("e2e_verdicts", mod)
`

// connectPolicy rejects or drops every connection.
const connectRejectPolicy = `
local mod = {}
function mod:validate_connect(ac, vctx)
  vctx:set_code(554, "5.7.1 connection refused by policy")
  return msys.core.VALIDATE_DONE
end
msys.registerModule("e2e_connect", mod)
`

const connectDisconnectPolicy = `
local mod = {}
function mod:validate_connect(ac, vctx)
  vctx:disconnect(421, "4.7.0 too busy, come back later")
  return msys.core.VALIDATE_DONE
end
msys.registerModule("e2e_connect", mod)
`

// editPolicy changes the message at end of data depending on the sender:
// "edit-headers", "edit-envelope", "edit-body", "quarantine" (through the
// message context, as documented) and "quarantine-method" (msg:quarantine). The token
// after "+" in the sender keeps added addresses unique.
const editPolicy = policyPrelude + `
local mod = {}

function mod:validate_mailfrom(str, ac, vctx)
  vctx:set(MESS, "e2e_from", addr(tostring(str)))
  return CONT
end

function mod:validate_rcptto(msg, str, ac, vctx)
  local a = addr(tostring(str))
  if has(a, "remove-me") then
    vctx:set(MESS, "e2e_remove", a)
  end
  return CONT
end

function mod:validate_data(msg, ac, vctx)
  local from = vctx:get(MESS, "e2e_from") or ""
  local tag = string.match(from, "%+([^@]+)@") or "none"
  if has(from, "edit-headers") then
    msg:header("X-Added", "added by policy", "append")
    msg:header("X-Change", "new value", "replace")
    msg:header("X-Delete", "")
    msg:header("Subject", "[policy] " .. (msg:header("Subject")[1] or ""), "replace")
  elseif has(from, "edit-envelope") then
    msg:mailfrom("changed+" .. tag .. "@example.org")
    vctx:add_recipient("added+" .. tag .. "@example.net")
    local victim = vctx:get(MESS, "e2e_remove")
    if victim then
      vctx:remove_recipient(victim)
    end
  elseif has(from, "edit-body") then
    msg:body("replaced body\r\nsecond line\r\n.\r\n")
  elseif has(from, "quarantine-method") then
    msg:quarantine("held by e2e policy")
  elseif has(from, "quarantine") then
    msg:context_set(MESS, "quarantine", "held by e2e policy")
  end
  return CONT
end

msys.registerModule("e2e_edits", mod)
`

// sessionPolicy stamps each message with what the script saw, to check
// state across several messages on one connection and across RSET.
const sessionPolicy = policyPrelude + `
local mod = {}

function mod:validate_connect(ac, vctx)
  self.messages = 0
  return CONT
end

function mod:validate_mailfrom(str, ac, vctx)
  vctx:set(MESS, "e2e_from", addr(tostring(str)))
  vctx:set(MESS, "e2e_rcpts", "")
  return CONT
end

function mod:validate_rcptto(msg, str, ac, vctx)
  local list = vctx:get(MESS, "e2e_rcpts") or ""
  vctx:set(MESS, "e2e_rcpts", list .. addr(tostring(str)) .. " ")
  return CONT
end

function mod:validate_data(msg, ac, vctx)
  local from = vctx:get(MESS, "e2e_from") or ""
  if has(from, "reject-eom") then
    vctx:set_code(550, "5.7.1 content refused by policy")
    return DONE
  end
  self.messages = (self.messages or 0) + 1
  msg:header("X-E2E-Seq", tostring(self.messages), "append")
  msg:header("X-E2E-From", from, "append")
  msg:header("X-E2E-Rcpts", vctx:get(MESS, "e2e_rcpts") or "", "append")
  return CONT
end

msys.registerModule("e2e_session", mod)
`

// errorPolicy raises a Lua error at MAIL or at end of data.
const errorPolicy = policyPrelude + `
local mod = {}

function mod:validate_mailfrom(str, ac, vctx)
  local s = tostring(str)
  vctx:set(MESS, "e2e_from", addr(s))
  if has(s, "error-mail") then
    error("e2e: deliberate failure at MAIL")
  end
  return CONT
end

function mod:validate_data(msg, ac, vctx)
  local from = vctx:get(MESS, "e2e_from") or ""
  if has(from, "error-eom") then
    local t = nil
    return t.boom
  end
  msg:header("X-E2E-Checked", "yes", "append")
  return CONT
end

msys.registerModule("e2e_errors", mod)
`

// stampPolicy adds a header to every message, proving the milter ran.
const stampPolicy = `
local mod = {}
function mod:validate_data(msg, ac, vctx)
  msg:header("X-E2E-Stamp", "luamilter", "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("e2e_stamp", mod)
`

// eachRcptPolicy decides per recipient after the message body: refuse
// recipients named "refuse", silently drop those named "drop", stamp the rest.
const eachRcptPolicy = policyPrelude + `
local mod = {}

function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  local rcpt = msg:rcptto() or ""
  if has(rcpt, "refuse") then
    vctx:set_code(550, "5.7.1 not for this recipient")
    return DONE
  elseif has(rcpt, "drop") then
    msg:discard()
    return DONE
  end
  return CONT
end

msys.registerModule("e2e_each_rcpt", mod)
`
