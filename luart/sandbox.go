package luart

import (
	"bytes"
	"os"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart/dialect"
	"github.com/luamilter/luamilter/luart/lpattern"
	"github.com/luamilter/luamilter/luart/lstd"
)

// removedGlobals are the base functions the sandbox takes away.
var removedGlobals = []string{"dofile", "loadfile"}

// openLibraries builds the sandboxed global environment of a State.
func (st *State) openLibraries() error {
	L := st.L
	st.handler = L.NewFunction(passError)
	type lib struct {
		name string
		open lua.LGFunction
	}
	libs := []lib{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.OsLibName, lua.OpenOs},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	}
	if st.rt.cfg.Unsafe {
		libs = append(libs, lib{lua.IoLibName, lua.OpenIo}, lib{lua.DebugLibName, lua.OpenDebug})
	}
	for _, lib := range libs {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	lim := st.rt.cfg.Limits
	lstd.Install(L, lstd.Limits{MaxStringSize: lim.MaxStringSize, GC: st.rt.gc})
	lpattern.Install(L, g.RawGetString("string").(*lua.LTable),
		lpattern.Limits{MaxSteps: lim.MaxPatternStep, MaxOutput: lim.MaxStringSize})
	dialect.InstallHelpers(L)
	if !st.rt.cfg.Unsafe {
		for _, name := range removedGlobals {
			g.RawSetString(name, lua.LNil)
		}
		osLib := L.NewTable()
		real := g.RawGetString("os").(*lua.LTable)
		for _, name := range []string{"time", "date", "clock", "difftime"} {
			osLib.RawSetString(name, real.RawGetString(name))
		}
		osLib.RawSetString("getenv", L.NewFunction(st.getenv))
		g.RawSetString("os", osLib)
		pkg := g.RawGetString("package").(*lua.LTable)
		pkg.RawSetString("loadlib", lua.LNil)
		pkg.RawSetString("cpath", lua.LString(""))
		g.RawSetString("debug", st.debugLibrary())
	}
	st.installCompat()
	st.installLoaders()
	st.installProtectedCalls()
	st.installCoroutines()
	st.installTLS()
	// thrLua opens its thread library with the standard ones.
	g.RawSetString("thread", st.threadLibrary(L))
	g.RawSetString("print", L.NewFunction(st.print))
	g.RawSetString("require", L.NewFunction(st.require))
	if err := st.openMsys(); err != nil {
		return err
	}
	st.protectLibraries()
	return nil
}

// getenv is the sandbox's os.getenv: the daemon's environment may hold
// credentials (database passwords, API keys), so only the variables
// Config.ScriptEnv names are returned; any other name reads as unset.
func (st *State) getenv(L *lua.LState) int {
	name := L.CheckString(1)
	if slices.Contains(st.rt.cfg.ScriptEnv, name) {
		if v, ok := os.LookupEnv(name); ok {
			L.Push(lua.LString(v))
			return 1
		}
	}
	L.Push(lua.LNil)
	return 1
}

// installCompat makes getmetatable, setmetatable and setfenv behave as
// Lua 5.1's do. The Lua 5.0 names thrLua keeps (string.gfind, math.mod,
// table.getn) come with lpattern and lstd.
func (st *State) installCompat() {
	L := st.L
	g := L.G.Global
	// getmetatable/setmetatable honour __metatable.
	g.RawSetString("getmetatable", L.NewFunction(func(L *lua.LState) int {
		mt := L.GetMetatable(L.CheckAny(1))
		if t, ok := mt.(*lua.LTable); ok {
			if prot := t.RawGetString("__metatable"); prot != lua.LNil {
				L.Push(prot)
				return 1
			}
		}
		L.Push(mt)
		return 1
	}))
	realSet := g.RawGetString("setmetatable").(*lua.LFunction)
	g.RawSetString("setmetatable", L.NewFunction(func(L *lua.LState) int {
		if mt, ok := L.CheckTable(1).Metatable.(*lua.LTable); ok && mt.RawGetString("__metatable") != lua.LNil {
			L.RaiseError("cannot change a protected metatable")
		}
		L.Insert(realSet, 1)
		L.Call(L.GetTop()-1, 1)
		return 1
	}))
	// rawset would write into a library's read-only view itself, past
	// its __newindex, and so into what every session reads.
	realRawset := g.RawGetString("rawset").(*lua.LFunction)
	g.RawSetString("rawset", L.NewFunction(func(L *lua.LState) int {
		if mt, ok := L.CheckTable(1).Metatable.(*lua.LTable); ok && st.refuseWrite != nil && mt.RawGetString("__newindex") == st.refuseWrite {
			L.RaiseError("attempt to modify read-only table '%s'", mt.RawGetString("__name").String())
		}
		L.Insert(realRawset, 1)
		L.Call(L.GetTop()-1, 1)
		return 1
	}))
	realSetfenv := g.RawGetString("setfenv").(*lua.LFunction)
	g.RawSetString("setfenv", L.NewFunction(func(L *lua.LState) int {
		if _, ok := L.Get(1).(*lua.LFunction); !ok {
			L.RaiseError("setfenv: luamilter only allows setting the environment of a function")
		}
		L.Insert(realSetfenv, 1)
		L.Call(L.GetTop()-1, 1)
		return 1
	}))
}

// installLoaders makes loadstring and load compile Momentum's dialect,
// as script files are compiled: code a script builds at run time is
// written in the same language as the script. Chunk names, line numbers
// and Lua 5.1's (nil, message) answer to a syntax error stay gopher-lua's.
func (st *State) installLoaders() {
	L := st.L
	g := L.G.Global
	g.RawSetString("loadstring", L.NewFunction(func(L *lua.LState) int {
		return loadChunk(L, L.CheckString(1), L.OptString(2, "<string>"))
	}))
	g.RawSetString("load", L.NewFunction(func(L *lua.LState) int {
		fn := L.CheckFunction(1)
		name := L.OptString(2, "?")
		// The pieces are joined before translating: a dialect token may
		// be split between two of them.
		var src strings.Builder
		for {
			L.Push(fn)
			L.Call(0, 1)
			piece := L.Get(-1)
			L.Pop(1)
			if piece == lua.LNil {
				break
			}
			if !lua.LVCanConvToString(piece) {
				L.Push(lua.LNil)
				L.Push(lua.LString("reader function must return a string"))
				return 2
			}
			s := piece.String()
			if s == "" {
				break
			}
			src.WriteString(s)
		}
		return loadChunk(L, src.String(), name)
	}))
}

// loadChunk translates and compiles src for loadstring and load.
func loadChunk(L *lua.LState, src, name string) int {
	fail := func(msg string) int {
		L.Push(lua.LNil)
		L.Push(lua.LString(msg))
		return 2
	}
	// Bytecode would bypass the translator and gopher-lua's checks alike.
	if strings.HasPrefix(src, "\x1bLua") {
		return fail(name + ": precompiled chunks are not accepted")
	}
	out, err := dialect.Translate(name, []byte(src))
	if err != nil {
		return fail(err.Error())
	}
	fn, err := L.Load(bytes.NewReader(out), name)
	if err != nil {
		return fail(err.Error())
	}
	L.Push(fn)
	return 1
}

// installProtectedCalls replaces pcall and xpcall so that a script can
// catch its own errors but never a deadline, the memory brake or a limit.
func (st *State) installProtectedCalls() {
	L := st.L
	g := L.G.Global
	g.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int {
		L.CheckAny(1)
		if obj, failed := st.protectedCall(L, L.GetTop()-1, lua.MultRet); failed {
			return pushFailure(L, obj)
		}
		L.Insert(lua.LTrue, 1)
		return L.GetTop()
	}))
	g.RawSetString("xpcall", L.NewFunction(func(L *lua.LState) int {
		fn := L.CheckAny(1)
		h := L.CheckAny(2)
		L.SetTop(0)
		L.Push(fn)
		// The handler runs where the error was raised, as in Lua 5.1, so
		// that debug.traceback shows that stack; but never for an abort,
		// which it could turn into something pcall would catch.
		var abort lua.LValue
		handled := false
		err := L.PCall(0, lua.MultRet, L.NewFunction(xpcallHandler(h, &abort, &handled)))
		if err == nil {
			L.Insert(lua.LTrue, 1)
			return L.GetTop()
		}
		if abort != nil {
			L.Error(abort, 0)
		}
		obj := errObject(err)
		if !handled && aborted(L, obj) { // the handler itself was stopped
			L.Error(obj, 0)
		}
		return pushFailure(L, obj)
	}))
}

// xpcallHandler is xpcall's Go message handler: it calls the script's
// handler h unless the error is an abort, which it records in abort.
// debug.traceback and debug.getinfo leave its frame out of their levels;
// they know it by its code, which inlining would duplicate.
//
//go:noinline
func xpcallHandler(h lua.LValue, abort *lua.LValue, handled *bool) lua.LGFunction {
	return func(L *lua.LState) int {
		obj := L.Get(1)
		if aborted(L, obj) {
			*abort = obj
			return 1
		}
		L.Push(h)
		L.Push(obj)
		L.Call(1, 1)
		*handled = true
		return 1
	}
}

// protectedCall calls the function below nargs arguments with the Go
// message handler. A script error is returned; an abort (deadline, brake,
// limit) is raised again so no script can swallow it.
func (st *State) protectedCall(L *lua.LState, nargs, nret int) (lua.LValue, bool) {
	err := L.PCall(nargs, nret, st.handler)
	if err == nil {
		return nil, false
	}
	obj := errObject(err)
	if aborted(L, obj) {
		L.Error(obj, 0)
	}
	return obj, true
}

func pushFailure(L *lua.LState, obj lua.LValue) int {
	L.SetTop(0)
	L.Push(lua.LFalse)
	L.Push(obj)
	return 2
}

func errObject(err error) lua.LValue {
	if apiErr, ok := err.(*lua.ApiError); ok {
		return apiErr.Object
	}
	return lua.LString(err.Error())
}

// print writes its arguments, tab-separated like Lua's, to the log.
func (st *State) print(L *lua.LState) int {
	n := L.GetTop()
	parts := make([]string, n)
	tostring := L.GetGlobal("tostring")
	for i := 1; i <= n; i++ {
		L.Push(tostring)
		L.Push(L.Get(i))
		L.Call(1, 1)
		// Lua 5.1 takes what tostring returns through lua_tostring, which
		// also turns a number into its text.
		switch r := L.Get(-1).(type) {
		case lua.LString:
			parts[i-1] = string(r)
		case lua.LNumber:
			parts[i-1] = lstd.FormatNumber(float64(r))
		default:
			L.RaiseError("'tostring' must return a string to 'print'")
		}
		L.Pop(1)
	}
	st.rt.threadOf(L).logger().Info(strings.Join(parts, "\t"), "source", "print")
	return 0
}

// protectLibraries replaces each standard library table in the globals by
// a read-only view, so one session can't change what later ones see.
func (st *State) protectLibraries() {
	L := st.L
	g := L.G.Global
	loaded := st.loaded()
	for _, name := range []string{"string", "table", "math", "os", "coroutine", "package", "io", "debug", "msys", "thread"} {
		if t, ok := g.RawGetString(name).(*lua.LTable); ok {
			p := st.readOnly(t, name)
			g.RawSetString(name, p)
			loaded.RawSetString(name, p)
		}
	}
	// package.loaded got msys.core and the other msys libraries opened
	// so far before they were wrapped: require("msys.core") must answer
	// the read-only view, not the table behind it.
	var msysNames []string
	loaded.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok && strings.HasPrefix(string(s), "msys.") {
			msysNames = append(msysNames, string(s))
		}
	})
	for _, name := range msysNames {
		loaded.RawSetString(name, st.lookup(name))
	}
	st.protectStringMetatable()
}

// protectStringMetatable keeps scripts from reaching the writable
// string library through strings. gopher-lua makes the library table
// itself the metatable of strings, with an __index field pointing at
// itself, so string.__index (read through the read-only view) and
// getmetatable("").__index were the writable table, and a write there
// changed the string methods of every later session. Now the library
// table has no __index field; strings get a metatable of their own whose
// __index is the library table, so s:upper() still costs one lookup; and
// what getmetatable("") answers (its __metatable) is a read-only table
// holding only __index, the read-only string view, as in Lua 5.1.
func (st *State) protectStringMetatable() {
	L := st.L
	mt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable)
	if !ok {
		return
	}
	lib, ok := mt.RawGetString("__index").(*lua.LTable)
	if !ok {
		return
	}
	lib.RawSetString("__index", lua.LNil)
	shown := L.CreateTable(0, 1)
	shown.RawSetString("__index", L.G.Global.RawGetString("string"))
	own := L.CreateTable(0, 2)
	own.RawSetString("__index", lib)
	own.RawSetString("__metatable", st.readOnly(shown, "string metatable"))
	L.SetMetatable(lua.LString(""), own)
}

// readOnly returns a table that reads through to t and refuses writes.
// Nested library tables (msys.core, ...) are wrapped too.
func (st *State) readOnly(t *lua.LTable, name string) *lua.LTable {
	L := st.L
	if strings.HasPrefix(name, "msys") {
		var keys []lua.LValue
		t.ForEach(func(k, v lua.LValue) {
			if sub, ok := v.(*lua.LTable); ok && sub.Metatable == lua.LNil {
				keys = append(keys, k)
			}
		})
		for _, k := range keys {
			t.RawSet(k, st.readOnly(t.RawGet(k).(*lua.LTable), name+"."+k.String()))
		}
	}
	// Small tables and one shared __newindex keep a State's footprint low:
	// there are a dozen of these per generation.
	proxy := L.CreateTable(0, 0)
	mt := L.CreateTable(0, 4)
	mt.RawSetString("__index", t)
	mt.RawSetString("__name", lua.LString(name))
	if st.refuseWrite == nil {
		st.refuseWrite = L.NewFunction(func(L *lua.LState) int {
			name := "library"
			if m, ok := L.CheckTable(1).Metatable.(*lua.LTable); ok {
				name = m.RawGetString("__name").String()
			}
			L.RaiseError("attempt to modify read-only table '%s'", name)
			return 0
		})
	}
	mt.RawSetString("__newindex", st.refuseWrite)
	mt.RawSetString("__metatable", lua.LFalse)
	proxy.Metatable = mt
	return proxy
}
