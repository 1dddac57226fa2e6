package luart

import (
	"context"
	"strings"
	"testing"
)

// TestSafeDebugLibrary checks the sandbox's debug table: traceback and
// getinfo as in Lua 5.1, nothing else, read-only.
func TestSafeDebugLibrary(t *testing.T) {
	rt, st := testState(t, `function dbg_where()
  return debug.getinfo(1, "S").source .. " " .. debug.getinfo(1, "S").short_src
end
msys.registerModule("dbg", {})`)
	path := rt.scripts[0].Path
	tests := []struct {
		name, code string
		want       []string // substrings of the result, in order
	}{
		{"xpcall traceback", `local function inner() error("boom") end
local function outer() inner() end
local ok, tb = xpcall(outer, debug.traceback)
return tostring(ok) .. "\n" .. tb`, []string{
			"false\n<string>:1: boom\nstack traceback:\n\t[G]: in function 'error'\n",
			"\t<string>:1: in function 'inner'\n", "\t<string>:2: in function", "in function 'xpcall'", "<string>:3: in main chunk"}},
		{"xpcall error object", `local e = {}
local ok, got = xpcall(function() error(e) end, debug.traceback)
return tostring(ok) .. " " .. tostring(rawequal(got, e))`, []string{"false true"}},
		{"message", `return debug.traceback("msg")`, []string{"msg\nstack traceback:\n\t<string>:1: in main chunk"}},
		{"number message", `return debug.traceback(42)`, []string{"42\nstack traceback:\n"}},
		{"no message", `return debug.traceback()`, []string{"stack traceback:\n\t<string>:1:"}},
		{"nil message", `return type(debug.traceback(nil))`, []string{"nil"}},
		{"level 1", "local function f()\n return debug.traceback('m', 1)\nend\nlocal r = f()\nreturn r",
			[]string{"m\nstack traceback:\n\t<string>:2: in function 'f'\n\t<string>:4: in main chunk"}},
		{"level 2", "local function f()\n return debug.traceback('m', 2)\nend\nlocal r = f()\nreturn r",
			[]string{"m\nstack traceback:\n\t<string>:4: in main chunk"}},
		{"thread", `local co = coroutine.create(function() coroutine.yield() end)
coroutine.resume(co)
return debug.traceback(co, "co")`, []string{"co\nstack traceback:\n\t<string>:1:"}},
		{"currentline", "local a = 1\n\nreturn debug.getinfo(1, 'l').currentline", []string{"3"}},
		{"main chunk", `local i = debug.getinfo(1)
return i.what .. " " .. i.source .. " " .. i.short_src .. " " .. i.linedefined .. " " .. i.currentline .. " " .. i.namewhat .. tostring(i.name)`,
			[]string{"main <string> <string> 0 1 nil"}},
		{"function", "local x, y = 1, 2\nlocal function f()\n  return x + y\nend\nlocal i = debug.getinfo(f)\n" +
			"return i.what .. ' ' .. i.linedefined .. ' ' .. i.lastlinedefined .. ' ' .. i.nups .. ' ' .. i.currentline .. ' ' .. tostring(i.func)",
			[]string{"Lua 2 4 2 -1 nil"}},
		{"go function", `local i = debug.getinfo(print)
return i.what .. " " .. i.source .. " " .. i.short_src .. " " .. i.linedefined .. " " .. i.currentline`, []string{"C =[C] [C] -1 -1"}},
		{"options", `local i = debug.getinfo(1, "l")
return tostring(i.currentline) .. " " .. tostring(i.source) .. " " .. tostring(i.what)`, []string{"1 nil nil"}},
		{"local name", `local function named() local i = debug.getinfo(1, "n") return i.namewhat .. " " .. i.name end
local r = named()
return r`, []string{"local named"}},
		{"global name", `function dbg_global() local i = debug.getinfo(1, "n") return i.namewhat .. " " .. i.name end
local r = dbg_global()
dbg_global = nil
return r`, []string{"global dbg_global"}},
		{"field name", `local t = {}
function t.fld() local i = debug.getinfo(1, "n") return i.namewhat .. " " .. i.name end
local r = t.fld()
return r`, []string{"field fld"}},
		{"caller level", "local function f()\n  return debug.getinfo(2, 'l').currentline\nend\nlocal r = f()\nreturn r", []string{"4"}},
		{"level out of range", `return tostring(debug.getinfo(100))`, []string{"nil"}},
		{"bad argument", `return select(2, pcall(debug.getinfo, "x"))`, []string{"function or level expected"}},
		{"bad option", `return select(2, pcall(debug.getinfo, 1, "z"))`, []string{"invalid option"}},
		{"thread getinfo", `local co = coroutine.create(function()
  coroutine.yield()
end)
coroutine.resume(co)
return debug.getinfo(co, 0, "l").currentline`, []string{"2"}},
		{"handler sees the error's stack", "local ok, line = xpcall(function()\n\n  error('e')\nend, function() return debug.getinfo(3, 'l').currentline end)\nreturn line", []string{"3"}},
		{"handler result", `return select(2, xpcall(function() error("x", 0) end, function(e) return "h:" .. e end))`, []string{"h:x"}},
		{"handler fails", `return select(2, xpcall(function() error("x", 0) end, function(e) error("in handler", 0) end))`, []string{"in handler"}},
		{"script file source", `return dbg_where()`, []string{"@" + path + " " + path}},
		{"only traceback and getinfo", `local names = {}
for _, n in ipairs({"sethook", "gethook", "getlocal", "setlocal", "getupvalue", "setupvalue",
    "getregistry", "getmetatable", "setmetatable", "getfenv", "setfenv", "debug"}) do
  if debug[n] ~= nil then names[#names + 1] = n end
end
return "[" .. table.concat(names, ",") .. "]"`, []string{"[]"}},
		{"read-only", `return select(2, pcall(function() debug.traceback = nil end))`, []string{"read-only table 'debug'"}},
		{"read-only new field", `return select(2, pcall(function() debug.sethook = print end))`, []string{"read-only table 'debug'"}},
		{"rawset refused", `return select(2, pcall(rawset, debug, "sethook", print))`, []string{"read-only table 'debug'"}},
		{"metatable hidden", `return tostring(getmetatable(debug))`, []string{"false"}},
		{"package.loaded", `return tostring(package.loaded.debug == debug)`, []string{"true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runChunk(t, st, tc.code)
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("got %q, want it to contain %q", got, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestUnsafeDebugLibrary checks that --unsafe-lua keeps gopher-lua's
// whole debug library.
func TestUnsafeDebugLibrary(t *testing.T) {
	rt := testRuntime(t, `msys.registerModule("dbg", {})`, Config{PoolSize: 1, Unsafe: true})
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(st)
	for _, name := range []string{"traceback", "getinfo", "getlocal", "setlocal", "getupvalue", "setupvalue", "getmetatable", "setmetatable", "getfenv", "setfenv"} {
		if got := runChunk(t, st, `return type(debug.`+name+`)`); got != "function" {
			t.Errorf("debug.%s is a %s, want a function", name, got)
		}
	}
}
