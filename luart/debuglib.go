package luart

import (
	"reflect"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The sandbox's debug library holds only what reads the call stack:
// traceback, so that xpcall(f, debug.traceback) works, and getinfo. The
// rest of Lua's debug library reaches into other code (locals, upvalues,
// metatables behind __metatable, environments, the registry, hooks) and
// stays out; --unsafe-lua opens gopher-lua's whole library instead.

// gopherTraceback is gopher-lua's debug.traceback, taken from a throwaway
// state: it formats the stack as gopher-lua's own error tracebacks do.
var gopherTraceback = func() lua.LGFunction {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	L.Push(L.NewFunction(lua.OpenDebug))
	L.Call(0, 1)
	return L.Get(-1).(*lua.LTable).RawGetString("traceback").(*lua.LFunction).GFunction
}()

// xpcallHandlerCode identifies the frames of xpcall's message handler (a
// Go closure made by xpcallHandler): a script's handler called from there
// sees the error's stack one level further than in Lua 5.1, where the
// handler is called directly.
var xpcallHandlerCode = reflect.ValueOf(xpcallHandler(nil, nil, nil)).Pointer()

// stackLevel turns a script's level on the calling thread into
// gopher-lua's, leaving out the frames of xpcall's message handler.
func stackLevel(L *lua.LState, level int) int {
	if level <= 0 {
		return level
	}
	gl := 0
	for n := 0; n < level; {
		gl++
		dbg, ok := L.GetStack(gl)
		if !ok {
			return gl
		}
		if f, err := L.GetInfo("f", dbg, lua.LNil); err == nil {
			if fn, ok := f.(*lua.LFunction); ok && fn.IsG && reflect.ValueOf(fn.GFunction).Pointer() == xpcallHandlerCode {
				continue
			}
		}
		n++
	}
	return gl
}

// debugLibrary builds the sandbox's debug table.
func (st *State) debugLibrary() *lua.LTable {
	L := st.L
	rt := st.rt
	t := L.CreateTable(0, 2)
	t.RawSetString("traceback", L.NewFunction(debugTraceback))
	t.RawSetString("getinfo", L.NewFunction(func(L *lua.LState) int { return debugGetinfo(L, rt) }))
	return t
}

// debugThread is Lua 5.1's getthread: an optional coroutine first.
func debugThread(L *lua.LState) (*lua.LState, int) {
	if co, ok := L.Get(1).(*lua.LState); ok {
		return co, 1
	}
	return L, 0
}

// debugTraceback is debug.traceback([thread,] [message [, level]]) with
// Lua 5.1's rules: a message that is neither a string nor a number is
// returned as it is (so an error object passes through an xpcall
// handler), the level counts from the caller (0 for another thread).
func debugTraceback(L *lua.LState) int {
	co, arg := debugThread(L)
	level := 1
	if co != L {
		level = 0
	}
	if n, ok := L.Get(arg + 2).(lua.LNumber); ok {
		level = int(n)
	}
	msg := ""
	if L.GetTop() > arg {
		switch m := L.Get(arg + 1).(type) {
		case lua.LString:
			msg = string(m) + "\n"
		case lua.LNumber:
			msg = m.String() + "\n"
		default:
			L.SetTop(arg + 1)
			return 1
		}
	}
	if level < 0 {
		level = 0
	}
	// gopher-lua's traceback counts from its own frame; called from here
	// that is one more than the script's level on this thread.
	var target lua.LValue = lua.LNil
	if co != L {
		target = co
	} else {
		level = stackLevel(L, level) + 1
	}
	L.Push(L.NewFunction(gopherTraceback))
	L.Push(target)
	L.Push(lua.LNumber(level))
	L.Call(2, 1)
	L.Push(lua.LString(msg + L.Get(-1).String()))
	return 1
}

// debugGetinfo is debug.getinfo([thread,] f|level [, what]). It fills
// the fields of Lua 5.1's lua_Debug but func and activelines: a function
// reached through the stack is not one the script necessarily holds.
func debugGetinfo(L *lua.LState, rt *Runtime) int {
	co, arg := debugThread(L)
	what := L.OptString(arg+2, "flnSu")
	for _, c := range what {
		if !strings.ContainsRune("SlnufL", c) {
			L.ArgError(arg+2, "invalid option")
		}
	}
	var (
		fn  *lua.LFunction
		dbg *lua.Debug
	)
	glevel := 0 // gopher-lua's level of dbg
	switch v := L.Get(arg + 1).(type) {
	case *lua.LFunction:
		fn = v
	case lua.LNumber:
		level := int(v)
		if co == L {
			level = stackLevel(L, level)
		}
		var ok bool
		if dbg, ok = co.GetStack(level); !ok || level < 0 {
			L.Push(lua.LNil)
			return 1
		}
		f, err := co.GetInfo("fSln", dbg, lua.LNil)
		if err != nil {
			L.Push(lua.LNil)
			return 1
		}
		fn = f.(*lua.LFunction)
		glevel = level
	default:
		L.ArgError(arg+1, "function or level expected")
	}
	t := L.CreateTable(0, 9)
	if strings.ContainsRune(what, 'S') {
		src, short := debugSource(rt, fn)
		t.RawSetString("source", lua.LString(src))
		t.RawSetString("short_src", lua.LString(short))
		kind, first, last := "Lua", -1, -1
		switch {
		case fn.IsG:
			kind = "C"
		case fn.Proto.LineDefined == 0:
			kind = "main"
		}
		if !fn.IsG {
			first, last = fn.Proto.LineDefined, fn.Proto.LastLineDefined
		}
		t.RawSetString("what", lua.LString(kind))
		t.RawSetString("linedefined", lua.LNumber(first))
		t.RawSetString("lastlinedefined", lua.LNumber(last))
	}
	if strings.ContainsRune(what, 'l') {
		line := -1
		if dbg != nil && !fn.IsG && dbg.CurrentLine > 0 {
			line = dbg.CurrentLine
		}
		t.RawSetString("currentline", lua.LNumber(line))
	}
	if strings.ContainsRune(what, 'u') {
		t.RawSetString("nups", lua.LNumber(len(fn.Upvalues)))
	}
	if strings.ContainsRune(what, 'n') {
		namewhat := ""
		if dbg != nil {
			namewhat = debugNameWhat(co, glevel, dbg.Name, fn)
		}
		if namewhat != "" {
			t.RawSetString("name", lua.LString(dbg.Name))
		}
		t.RawSetString("namewhat", lua.LString(namewhat))
	}
	L.Push(t)
	return 1
}

// debugSource gives source and short_src as Lua 5.1 would: "@path" for a
// script file, "=[C]" for a Go function, the chunk name otherwise.
// short_src is the name error messages show, which with gopher-lua is
// the chunk name itself.
func debugSource(rt *Runtime, fn *lua.LFunction) (string, string) {
	if fn.IsG {
		return "=[C]", "[C]"
	}
	name := fn.Proto.SourceName
	switch {
	case strings.HasPrefix(name, "=") || strings.HasPrefix(name, "@"):
		return name, name[1:]
	case rt != nil && rt.isScriptFile(name):
		return "@" + name, name
	}
	return name, name
}

// isScriptFile reports whether name is the path of a script or of a
// helper loaded with require, as opposed to a loadstring chunk.
func (rt *Runtime) isScriptFile(name string) bool {
	if slices.ContainsFunc(rt.scripts, func(s *Script) bool { return s.Path == name }) {
		return true
	}
	rt.helpersMu.Lock()
	defer rt.helpersMu.Unlock()
	_, ok := rt.helpers[name]
	return ok
}

// debugNameWhat finds how the caller named the function at level, as
// Lua 5.1's namewhat: "local", "global", "upvalue" or "field" (gopher-lua
// records the name of each call, not its kind, so the kind is found by
// looking for that name among the caller's locals, the globals and the
// caller's upvalues). "" means no name is known.
func debugNameWhat(co *lua.LState, level int, name string, fn *lua.LFunction) string {
	if name == "" || name == "?" || name == "main chunk" || name == "corountine" || name == "(anonymous)" || strings.HasPrefix(name, "<") {
		return ""
	}
	caller, ok := co.GetStack(level + 1)
	if !ok {
		return "field"
	}
	for i := 1; ; i++ {
		n, v := co.GetLocal(caller, i)
		if n == "" {
			break
		}
		if n == name && v == fn {
			return "local"
		}
	}
	if f, err := co.GetInfo("f", caller, lua.LNil); err == nil {
		if cf, ok := f.(*lua.LFunction); ok {
			if cf.Env != nil && cf.Env.RawGetString(name) == fn {
				return "global"
			}
			for i := 1; i <= len(cf.Upvalues); i++ {
				if n, v := co.GetUpvalue(cf, i); n == name && v == fn {
					return "upvalue"
				}
			}
		}
	}
	return "field"
}
