package luart

import (
	lua "github.com/yuin/gopher-lua"
)

// installStrict is require("strict"), the checker thrLua ships from Lua
// 5.1's etc/strict.lua: after it, assigning a global that was not
// declared (assigned in a main chunk) raises "assign to undeclared
// variable 'x'", and reading one raises "variable 'x' is not declared".
// Like the original it works through the globals' metatable, so it holds
// for every session once any script requires it. It keeps _TLS and
// _OSTLS readable, which thrLua's copy loses.
func installStrict(L *lua.LState) {
	g := L.G.Global
	mt, ok := g.Metatable.(*lua.LTable)
	if !ok {
		mt = L.CreateTable(0, 3)
		g.Metatable = mt
	}
	declared := L.CreateTable(0, 8)
	mt.RawSetString("__declared", declared)
	before := mt.RawGetString("__index")
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		t, name, v := L.CheckTable(1), L.Get(2), L.Get(3)
		if declared.RawGet(name) == lua.LNil {
			if w := callerWhat(L); w != "main" && w != "C" {
				L.RaiseError("assign to undeclared variable '%s'", lua.LVAsString(name))
			}
			declared.RawSet(name, lua.LTrue)
		}
		t.RawSet(name, v)
		return 0
	}))
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		t, name := L.CheckTable(1), L.Get(2)
		if s, ok := name.(lua.LString); ok && (s == "_TLS" || s == "_OSTLS") {
			if fn, ok := before.(*lua.LFunction); ok {
				L.Push(fn)
				L.Push(t)
				L.Push(name)
				L.Call(2, 1)
				return 1
			}
		}
		if declared.RawGet(name) == lua.LNil && callerWhat(L) != "C" {
			L.RaiseError("variable '%s' is not declared", lua.LVAsString(name))
		}
		L.Push(t.RawGet(name))
		return 1
	}))
}

// callerWhat is debug.getinfo(2, "S").what as seen from a metamethod:
// "main" for a main chunk, "Lua" for a function, "C" for a Go function.
func callerWhat(L *lua.LState) string {
	dbg, ok := L.GetStack(1)
	if !ok {
		return "C"
	}
	if _, err := L.GetInfo("S", dbg, lua.LNil); err != nil {
		return "C"
	}
	if dbg.What == "G" {
		return "C"
	}
	return dbg.What
}
