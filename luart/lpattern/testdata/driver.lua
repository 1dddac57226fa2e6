-- Runs pattern test cases and prints one line per case, so that the
-- results of two Lua implementations can be compared line by line.
-- Inputs come from the globals CASEFILE and START when set (embedded
-- interpreters), else from the command line: lua5.1 driver.lua CASEFILE START.
local casefile = CASEFILE or arg[1]
local start = tonumber(START or (arg and arg[2])) or 1
local emit = EMIT or function(line)
  io.write(line, "\n")
  io.stdout:flush()
end

local function hex(s)
  local t = {}
  for i = 1, #s do t[i] = string.format("%02x", string.byte(s, i)) end
  return table.concat(t)
end

local function enc(v)
  local t = type(v)
  if t == "string" then return "s" .. hex(v) end
  if t == "number" then return "n" .. string.format("%.14g", v) end
  return t
end

local function pack(...) return { n = select("#", ...), ... } end

local function encall(r, from)
  local out = {}
  for i = from or 1, r.n do out[#out + 1] = enc(r[i]) end
  return table.concat(out, ",")
end

local funcs = {
  function(...)
    local t = {}
    for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
    return "<" .. table.concat(t, "|") .. ">"
  end,
  function() return nil end,
  function() return false end,
  function(...) return select("#", ...) end,
  function() return {} end,
  function(a) return a end,
  function(a)
    if type(a) == "string" and #a % 2 == 0 then return nil end
    return "{" .. tostring(a) .. "}"
  end,
  function() return true end,
}

local tables = {
  { a = "A", b = 1, ["%"] = "PCT", [""] = "E", [1] = "one", [2] = false, ab = "AB" },
  { a = {}, b = true, c = "C" },
  setmetatable({}, { __index = function(_, k) return "[" .. tostring(k) .. "]" end }),
}

local function run(c)
  if c.fn == "find" then return string.find(c.s, c.p, c.init, c.plain) end
  if c.fn == "match" then return string.match(c.s, c.p, c.init) end
  if c.fn == "gmatch" then
    local out, it = {}, string.gmatch(c.s, c.p)
    for _ = 1, 100 do
      local r = pack(it())
      if r.n == 0 or r[1] == nil then break end
      out[#out + 1] = "(" .. encall(r) .. ")"
    end
    return table.concat(out)
  end
  local repl = c.repl
  if c.rf then repl = funcs[c.rf] elseif c.rt then repl = tables[c.rt] end
  return string.gsub(c.s, c.p, repl, c.n)
end

local cases = dofile(casefile)
for i = start, #cases do
  local r = pack(pcall(run, cases[i]))
  if r[1] then
    emit(i .. " ok " .. encall(r, 2))
  else
    emit(i .. " err " .. hex(tostring(r[2])))
  end
end
emit("done")
