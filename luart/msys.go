package luart

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// coreConstants are msys.core's numeric constants. The VCTX_* and
// ECMESS_CTX_* pairs are equal because real scripts mix them.
var coreConstants = map[string]float64{
	"VALIDATE_CONT": 0, "VALIDATE_DONE": 1, "VALIDATE_AGAIN": 2,
	"VCTX_CONN": 0, "VCTX_MESS": 1, "ECMESS_CTX_CONN": 0, "ECMESS_CTX_MESS": 1,
	"EC_MSG_ENV_FROM": 1, "EC_MSG_ENV_TO": 2, "EC_MSG_ENV_COMPLETE": 4,
	"EC_MIME_TE_7BIT": 0, "EC_MIME_TE_8BIT": 1, "EC_MIME_TE_BINARY": 2,
	"EC_MIME_TE_BASE64": 3, "EC_MIME_TE_QUOTED_PRINTABLE": 4,
	"P_ESMTP": 1, "P_INTERNAL": 2, "P_SMPP": 3, "P_MM7": 4, "P_SMTP": 1,
	"AF_INET": 2, "AF_INET6": 10,
	"EC_HOOK_CONT": 0, "EC_HOOK_DONE": 1,
	"EC_AUTH_OK": 0, "EC_AUTH_FAIL": 1, "EC_AUTH_ERROR": 2,
	"LOG_EMERG": 0, "LOG_ALERT": 1, "LOG_CRIT": 2, "LOG_ERR": 3, "LOG_WARNING": 4,
	"LOG_NOTICE": 5, "LOG_INFO": 6, "LOG_DEBUG": 7,
	"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_CREAT": 64, "O_APPEND": 1024,
	"ECTP_COMPLETE_CALLBACK": 1, "ECTP_COMPLETE_CALLBACK_SCHED": 2,
	"FAILED": 1, "DELAYED": 2, "DELIVERED": 3, "RELAYED": 4, "EXPANDED": 5,
}

// openMsys builds the msys table: registerModule, msys.core, and every
// configured Library at its dotted name.
func (st *State) openMsys() error {
	L := st.L
	msys := L.NewTable()
	L.SetGlobal("msys", msys)
	msys.RawSetString("registerModule", L.NewFunction(st.registerModule))
	st.installLocks(msys)
	core := L.NewTable()
	for k, v := range coreConstants {
		core.RawSetString(k, lua.LNumber(v))
	}
	core.RawSetString("STANDARD_KEY_MAILFROM_DOMAIN", lua.LString("mailfrom_domain"))
	core.RawSetString("get_now_ts", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}))
	core.RawSetString("string_new", L.NewFunction(func(L *lua.LState) int {
		L.Push(st.NewECString(""))
		return 1
	}))
	// The msys.core functions Surface marks Lacking raise an error that
	// names them and says why, instead of "attempt to call a nil value".
	// Libraries that do provide one replace the stand-in when attached.
	for name, why := range lackingFunctions("msys.core") {
		core.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("msys.core.%s is not provided by luamilter: %s", name, why)
			return 0
		}))
	}
	msys.RawSetString("core", core)
	env := &Env{Log: st.rt.cfg.Log, Setting: st.rt.cfg.Setting}
	if env.Setting == nil {
		env.Setting = func(string) (string, bool) { return "", false }
	}
	st.env = env
	for _, lib := range st.rt.cfg.Libraries {
		name := lib.Name()
		if name != "msys" && name != "msys.core" {
			// Opened on first use: most scripts touch a few of the msys
			// namespaces, and every opened one costs each pooled State.
			if st.lazy == nil {
				st.lazy = map[string]Library{}
			}
			st.lazy[name] = lib
			continue
		}
		st.attach(name, lib.Open(L, env))
	}
	// Also without libraries to open: the loader answers Momentum's
	// namespaces luamilter lacks (Lacking in Surface).
	msys.Metatable = st.lazyLoader("msys")
	loaded := st.loaded()
	for _, name := range []string{"msys", "msys.core"} {
		loaded.RawSetString(name, st.lookup(name))
	}
	return nil
}

// attach puts a library value at its dotted name. When a table already
// lives there, the library's fields are merged into it.
func (st *State) attach(name string, v lua.LValue) {
	L := st.L
	parts := strings.Split(name, ".")
	var parent *lua.LTable
	if parts[0] == "msys" {
		parent = L.GetGlobal("msys").(*lua.LTable)
		parts = parts[1:]
	} else {
		parent = L.G.Global
	}
	if len(parts) == 0 {
		mergeInto(parent, v)
		return
	}
	for _, p := range parts[:len(parts)-1] {
		next, ok := parent.RawGetString(p).(*lua.LTable)
		if !ok {
			next = L.NewTable()
			parent.RawSetString(p, next)
		}
		parent = next
	}
	last := parts[len(parts)-1]
	if existing, ok := parent.RawGetString(last).(*lua.LTable); ok {
		mergeInto(existing, v)
	} else {
		parent.RawSetString(last, v)
	}
	st.loaded().RawSetString(name, parent.RawGetString(last))
}

func mergeInto(dst *lua.LTable, v lua.LValue) {
	if src, ok := v.(*lua.LTable); ok {
		src.ForEach(func(k, val lua.LValue) { dst.RawSet(k, val) })
	}
}

// lookup resolves a dotted name from the globals.
func (st *State) lookup(name string) lua.LValue {
	var cur lua.LValue = st.L.G.Global
	for _, p := range strings.Split(name, ".") {
		t, ok := cur.(*lua.LTable)
		if !ok {
			return lua.LNil
		}
		cur = st.L.GetField(t, p)
	}
	return cur
}

// loaded returns package.loaded. It is looked up once, while the real
// package table is still the global: afterwards the global is a
// read-only view, and a raw lookup there would find nothing.
func (st *State) loaded() *lua.LTable {
	if st.pkgLoaded != nil {
		return st.pkgLoaded
	}
	pkg := st.L.G.Global.RawGetString("package").(*lua.LTable)
	t, ok := pkg.RawGetString("loaded").(*lua.LTable)
	if !ok {
		t = st.L.NewTable()
		pkg.RawSetString("loaded", t)
	}
	st.pkgLoaded = t
	return t
}

// require loads msys.* libraries and helper scripts from the configured
// directories. An unknown msys.* name gives an empty table and one log
// line, as Momentum helpers luamilter does not implement are common.
func (st *State) require(L *lua.LState) int {
	name := L.CheckString(1)
	loaded := st.loaded()
	if v := L.GetField(loaded, name); v != lua.LNil {
		if _, ok := st.lazy[name]; ok && !strings.HasPrefix(name, "msys.") {
			L.SetGlobal(name, v) // the global may have been undone after a session
		}
		L.Push(v)
		return 1
	}
	if v := st.lookup(name); v != lua.LNil && strings.HasPrefix(name, "msys.") {
		loaded.RawSetString(name, v)
		L.Push(v)
		return 1
	}
	if lib, ok := st.lazy[name]; ok && !strings.HasPrefix(name, "msys.") {
		// A library outside msys (json): like a Lua 5.1 module, require
		// opens it and sets the global of that name.
		v := lib.Open(L, st.env)
		if t, ok := v.(*lua.LTable); ok {
			v = st.readOnly(t, name)
		}
		L.SetGlobal(name, v)
		loaded.RawSetString(name, v)
		L.Push(v)
		return 1
	}
	switch name {
	case "msys":
		v := st.lookup("msys")
		loaded.RawSetString(name, v)
		L.Push(v)
		return 1
	case "strict":
		installStrict(L)
		loaded.RawSetString(name, lua.LTrue)
		L.Push(lua.LTrue)
		return 1
	}
	if isBuiltin(name) {
		// Momentum needs these to enable methods luamilter always has.
		t := L.NewTable()
		loaded.RawSetString(name, t)
		L.Push(t)
		return 1
	}
	if strings.HasPrefix(name, "msys.") || lacksLibrary(name) {
		st.rt.threadOf(L).logger().Warn("require of a library luamilter does not provide; using a stand-in that names it when used", "library", name)
		t := st.missingLibrary(L, name)
		loaded.RawSetString(name, t)
		L.Push(t)
		return 1
	}
	path, ok := st.findScript(name)
	if !ok {
		L.RaiseError("module '%s' not found in %s", name, strings.Join(st.rt.cfg.ScriptDirs, ", "))
	}
	proto, err := st.rt.helper(path)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	fn := L.NewFunctionFromProto(proto)
	L.Push(fn)
	L.Push(lua.LString(name))
	L.Call(1, 1)
	res := L.Get(-1)
	if res == lua.LNil {
		if v := L.GetField(loaded, name); v != lua.LNil {
			res = v
		} else {
			res = lua.LTrue
		}
	}
	loaded.RawSetString(name, res)
	L.Push(res)
	return 1
}

// findScript maps "a.b" to a/b.lua in the script directories.
func (st *State) findScript(name string) (string, bool) {
	if strings.Contains(name, "..") || filepath.IsAbs(name) {
		return "", false
	}
	rel := strings.ReplaceAll(name, ".", "/") + ".lua"
	for _, dir := range st.rt.cfg.ScriptDirs {
		p := filepath.Join(dir, rel)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, true
		}
	}
	return "", false
}

// NewECString makes an ec_string object holding s: the mutable string
// msys.core.string_new() returns, used as an out-parameter
// (get_envelope2) and hook buffer.
func (st *State) NewECString(s string) *lua.LUserData {
	ud := st.L.NewUserData()
	ud.Value = &ECString{Value: s}
	ud.Metatable = st.Meta("ec_string", ecStringMeta)
	return ud
}

// ECString is the Go side of Momentum's ec_string.
type ECString struct{ Value string }

func ecStringMeta(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	get := func(L *lua.LState) *ECString {
		ud := L.CheckUserData(1)
		s, ok := ud.Value.(*ECString)
		if !ok {
			L.ArgError(1, "ec_string expected")
		}
		return s
	}
	methods := L.NewTable()
	methods.RawSetString("set", L.NewFunction(func(L *lua.LState) int {
		get(L).Value = L.CheckString(2)
		return 0
	}))
	mt.RawSetString("__name", lua.LString("ec_string"))
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		s := get(L)
		key := L.CheckString(2)
		if key == "buffer" {
			L.Push(lua.LString(s.Value))
			return 1
		}
		L.Push(methods.RawGetString(key))
		return 1
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(get(L).Value))
		return 1
	}))
	mt.RawSetString("__len", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(len(get(L).Value)))
		return 1
	}))
	return mt
}

// Set replaces the string's value; libraries filling an ec_string passed
// as an out-parameter (msg:get_envelope2) use it.
func (s *ECString) Set(v string) { s.Value = v }

// String returns the string's value; libraries accepting "a string or an
// ec_string" (msg:makePart) read it through fmt.Stringer.
func (s *ECString) String() string { return s.Value }

// lazyLoader is the metatable of msys (and of intermediate tables such as
// msys.http): a missing field that names a configured library opens it,
// wrapped read-only, and stores it so the next access is a plain lookup.
func (st *State) lazyLoader(prefix string) *lua.LTable {
	L := st.L
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		key, ok := L.Get(2).(lua.LString)
		if !ok {
			return 0
		}
		name := prefix + "." + string(key)
		var v lua.LValue
		if lib, ok := st.lazy[name]; ok {
			opened := lib.Open(L, st.env)
			if tbl, ok := opened.(*lua.LTable); ok {
				if st.hasLazyBelow(name) {
					tbl.Metatable = st.lazyLoader(name)
				}
				opened = st.readOnly(tbl, name)
			}
			v = opened
		} else if prefix == "msys" && lacksLibrary(name) {
			v = st.missingLibrary(L, name)
		} else if st.hasLazyBelow(name) {
			sub := L.CreateTable(0, 1)
			sub.Metatable = st.lazyLoader(name)
			v = st.readOnly(sub, name)
		} else {
			return 0
		}
		t.RawSet(key, v)
		L.Push(v)
		return 1
	}))
	return mt
}

// hasLazyBelow reports whether a not yet opened library lives below name.
func (st *State) hasLazyBelow(name string) bool {
	prefix := name + "."
	for n := range st.lazy {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// missingLibrary stands in for a Momentum library luamilter does not
// provide: requiring it works, so a script that only requires it loads,
// and any use raises an error naming the library.
func (st *State) missingLibrary(L *lua.LState, name string) *lua.LTable {
	t := L.CreateTable(0, 0)
	mt := L.CreateTable(0, 2)
	refuse := func(L *lua.LState) int {
		L.RaiseError("%s.%s: luamilter does not provide the %s library", name, lua.LVAsString(L.Get(2)), name)
		return 0
	}
	mt.RawSetString("__index", L.NewFunction(refuse))
	mt.RawSetString("__newindex", L.NewFunction(refuse))
	mt.RawSetString("__metatable", lua.LString(name))
	t.Metatable = mt
	return t
}
