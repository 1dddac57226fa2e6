package luart

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	lua "github.com/yuin/gopher-lua"
)

// Module is one table registered with msys.registerModule.
type Module struct {
	Name   string
	Script string // file that registered it
	Table  *lua.LTable
}

// Callout returns the module's function for a callout name, or nil.
func (m *Module) Callout(name string) *lua.LFunction {
	if fn, ok := m.Table.RawGetString(name).(*lua.LFunction); ok {
		return fn
	}
	return nil
}

// State is one Lua VM with every script loaded. Like Momentum's per-thread
// Lua states, a State serves one caller at a time and many over its life;
// script upvalues and package.loaded live per State.
type State struct {
	L           *lua.LState
	Modules     []*Module
	rt          *Runtime
	id          uint64 // numbers the Runtime's States from 1
	broken      bool
	globals     []globalEntry      // snapshot taken after loading
	lastGlobal  lua.LValue         // last key of the globals in that snapshot
	arrayLen    int                // length of the globals' array part then
	globalsMeta lua.LValue         // metatable of the globals then
	envs        []envEntry         // environments of the module functions then
	proxies     []*lua.LTable      // read-only library views
	info        *CallInfo          // call in progress, for print
	loading     string             // script being loaded, for print
	handler     *lua.LFunction     // Go message handler for PCall
	lazy        map[string]Library // msys libraries not opened yet
	env         *Env
	refuseWrite *lua.LFunction // __newindex of read-only views
	pkgLoaded   *lua.LTable    // package.loaded; see loaded
	coCreate    lua.LGFunction // gopher-lua's coroutine.create
	coResume    lua.LGFunction // gopher-lua's coroutine.resume
	coActive    []*lua.LState  // coroutines resumed and not yet back, outermost first
	calls       callState      // reusable context of calls into Lua
}

// newState builds a sandboxed State and runs every script in it.
func (rt *Runtime) newState() (*State, error) {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       200,
		RegistrySize:        256,
		RegistryMaxSize:     256 * 1024,
		MinimizeStackMemory: true,
	})
	st := &State{L: L, rt: rt, id: rt.stateIDs.Add(1)}
	if err := st.openLibraries(); err != nil {
		L.Close()
		return nil, err
	}
	for _, s := range rt.scripts {
		st.loading = s.Path
		fn := L.NewFunctionFromProto(s.proto)
		_, err := st.Call(context.Background(), &CallInfo{Module: s.Path, Callout: "load"}, fn)
		if err != nil {
			L.Close()
			return nil, fmt.Errorf("load %s: %w", s.Path, err)
		}
	}
	st.loading = ""
	if err := rt.sameModules(st); err != nil {
		L.Close()
		return nil, err
	}
	st.snapshot(rt.watchedGlobals()...)
	return st, nil
}

// watchedGlobals are the names snapshot records even when they are nil
// after loading: the sandbox's removals and every global the scripts
// assign by name. gopher-lua keeps a removed key's place in the key
// order, so a global removed while loading and set again later does not
// come after the snapshot's last key; only a recorded nil shows it. They
// are worked out once, after the first State has loaded the scripts and
// the helpers those require.
func (rt *Runtime) watchedGlobals() []string {
	rt.watchOnce.Do(func() {
		var names []string
		if !rt.cfg.Unsafe {
			names = append(names, removedGlobals...)
		}
		for _, name := range assignedGlobals(rt.protos()...) {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		rt.watched = names
	})
	return rt.watched
}

// sameModules checks that st registered the modules the first State did,
// in the same order: a session may run its callouts in any State of the
// pool and finds its modules by position.
func (rt *Runtime) sameModules(st *State) error {
	if rt.names == nil { // st is the first State
		return nil
	}
	if len(st.Modules) != len(rt.names) {
		return fmt.Errorf("scripts registered %d modules, %d the first time they ran: registration must not depend on time or chance", len(st.Modules), len(rt.names))
	}
	for i, m := range st.Modules {
		if m.Name != rt.names[i] {
			return fmt.Errorf("scripts registered module %q where %q was registered the first time they ran: registration must not depend on time or chance", m.Name, rt.names[i])
		}
	}
	return nil
}

// registerModule implements msys.registerModule(name, tbl).
func (st *State) registerModule(L *lua.LState) int {
	name := L.CheckString(1)
	tbl := L.CheckTable(2)
	for _, m := range st.Modules {
		if m.Name == name {
			L.RaiseError("module %q registered twice", name)
		}
	}
	usable := false
	tbl.ForEach(func(k, v lua.LValue) {
		if _, ok := v.(*lua.LFunction); ok && KnownCallout(k.String()) {
			usable = true
		}
	})
	if !usable {
		st.rt.cfg.Log.Warn("no usable methods found for module in registerModule call", "module", name)
	}
	st.Modules = append(st.Modules, &Module{Name: name, Script: st.loading, Table: tbl})
	return 0
}

// globalEntry is one global as it was after loading.
type globalEntry struct {
	key   lua.LValue
	value lua.LValue
}

// envEntry is a module function and its environment after loading:
// setfenv on a callout would change the globals later sessions' callouts
// see without writing a global.
type envEntry struct {
	fn  *lua.LFunction
	env *lua.LTable
}

// snapshot records the globals after loading so Clean and reset can
// compare with them without walking the table. gopher-lua appends a new
// key at the end of a table's key order and never removes one, so every
// global added later comes after the last key seen here; the watched
// names that are nil now are recorded as nil so that writing them again
// counts as a change (see watchedGlobals).
func (st *State) snapshot(watched ...string) {
	g := st.L.G.Global
	st.globals = st.globals[:0]
	for k, v := g.Next(lua.LNil); k != lua.LNil; k, v = g.Next(k) {
		st.globals = append(st.globals, globalEntry{k, v})
		st.lastGlobal = k
	}
	for _, name := range watched {
		if g.RawGetString(name) == lua.LNil {
			st.globals = append(st.globals, globalEntry{lua.LString(name), lua.LNil})
		}
	}
	st.arrayLen = g.Len()
	st.globalsMeta = g.Metatable
	st.envs = st.envs[:0]
	for _, m := range st.Modules {
		m.Table.ForEach(func(_, v lua.LValue) {
			if fn, ok := v.(*lua.LFunction); ok {
				st.envs = append(st.envs, envEntry{fn, fn.Env})
			}
		})
	}
}

// Clean reports whether the State is as it was after loading: no global
// written, added or removed, the globals' metatable and the module
// functions' environments unchanged, and nothing stored in a read-only
// library view. A clean State can serve another session without a reset.
// It does not look at script upvalues, module tables or package.loaded,
// which are per State on Momentum too.
//
// Clean compares every global on every call, however the scripts look.
// A static look at the bytecode for names that reach the globals table
// can't be complete: _G is also package.loaded["_".."G"], the __index of
// a package.seeall table, what getfenv returns, and whatever a library
// hands out. A write barrier (an empty proxy as _G) would slow every
// global read. The comparison is one map lookup per global: for the 48
// globals of a small script BenchmarkLeaseRoundTrip went from 0.1 µs
// (with the static shortcut this replaces) to 0.55 µs, against about
// 0.7 µs for the callout itself and 300 µs for a whole transaction;
// walking the table with Next instead would cost 1.5 µs. Not seen: a
// global removed while loading that no SETGLOBAL of the scripts names,
// set again through a name built at run time (see watchedGlobals).
func (st *State) Clean() bool {
	g := st.L.G.Global
	for _, e := range st.globals {
		if rawGet(g, e.key) != e.value {
			return false
		}
	}
	if k, _ := g.Next(st.lastGlobal); k != lua.LNil {
		return false
	}
	if g.Len() != st.arrayLen || g.Metatable != st.globalsMeta {
		return false
	}
	for _, e := range st.envs {
		if e.fn.Env != e.env {
			return false
		}
	}
	for _, p := range st.proxies {
		if k, _ := p.Next(lua.LNil); k != lua.LNil {
			return false
		}
	}
	return true
}

// rawGet avoids RawGet's type switch for the common string key.
func rawGet(t *lua.LTable, k lua.LValue) lua.LValue {
	if s, ok := k.(lua.LString); ok {
		return t.RawGetString(string(s))
	}
	return t.RawGet(k)
}

// reset makes a State that served a session as clean as a fresh one:
// globals written by callouts are undone and read-only library views are
// emptied again. It reports false if the State can't be reused.
func (st *State) reset() bool {
	if st.broken {
		return false
	}
	st.restore()
	st.clear()
	return true
}

// clear drops what the last call left on the stack and its call info.
func (st *State) clear() {
	st.L.SetTop(0)
	st.info = nil
}

// restore puts the globals and library views back as snapshot saw them.
func (st *State) restore() {
	g := st.L.G.Global
	var added []lua.LValue
	for k, _ := g.Next(st.lastGlobal); k != lua.LNil; k, _ = g.Next(k) {
		added = append(added, k)
	}
	for n := g.Len(); n > st.arrayLen; n-- {
		added = append(added, lua.LNumber(n))
	}
	for _, k := range added {
		g.RawSet(k, lua.LNil)
	}
	for _, e := range st.globals {
		if rawGet(g, e.key) != e.value {
			g.RawSet(e.key, e.value)
		}
	}
	g.Metatable = st.globalsMeta
	for _, e := range st.envs {
		e.fn.Env = e.env
	}
	for _, p := range st.proxies {
		var keys []lua.LValue
		for k, _ := p.Next(lua.LNil); k != lua.LNil; k, _ = p.Next(k) {
			keys = append(keys, k)
		}
		for _, k := range keys {
			p.RawSet(k, lua.LNil)
		}
	}
}

// ID tells the Runtime's States apart, for AcquireAgain.
func (st *State) ID() uint64 { return st.id }

// Broken reports whether the State saw a Go panic and must be discarded.
func (st *State) Broken() bool { return st.broken }

// Close releases the VM.
func (st *State) Close() { st.L.Close() }

// logger returns a logger tagged with the module running now.
func (st *State) logger() *slog.Logger {
	l := st.rt.cfg.Log
	switch {
	case st.info != nil:
		// The embedding program's session logger carries session id,
		// client and queue id; without one, tag what CallInfo knows.
		if h, ok := st.info.Host.(interface{ Logger() *slog.Logger }); ok {
			l = h.Logger()
		} else if st.info.QueueID != "" {
			l = l.With("queue_id", st.info.QueueID)
		}
		l = l.With("module", st.info.Module)
	case st.loading != "":
		l = l.With("script", st.loading)
	}
	return l
}

// KnownCallout reports whether name is a callout luamilter can run.
func KnownCallout(name string) bool {
	_, ok := calloutNames[name]
	return ok
}

// IgnoredHook reports whether name is a Momentum hook that luamilter
// accepts in a module table but never calls.
func IgnoredHook(name string) bool {
	_, ok := ignoredHooks[name]
	return ok
}

var calloutNames = map[string]struct{}{
	"init": {}, "deinit": {}, "validate_connect": {}, "validate_ehlo": {},
	"validate_mailfrom": {}, "validate_rcptto": {}, "validate_rcptto_list": {},
	"validate_rcptto_list_final": {}, "validate_data": {}, "validate_data_spool": {},
	"validate_data_spool_each_rcpt": {}, "validate_set_binding": {}, "validate_dealloc": {},
}

var ignoredHooks = map[string]struct{}{
	"core_validate_accept": {}, "core_final_validation": {}, "core_final_validation2": {},
	"core_post_msg_each_rcpt": {}, "msg_gen_data_spool": {}, "core_log_delivery_v1": {},
	"core_log_transient_failure_v1": {}, "core_log_permanent_failure_v1": {},
	"outbound_smtp_auth_config": {}, "core_get_outbound_tls_parameters": {},
	"rsrc_setup": {}, "ac_auth_perform_auth": {},
}

// Meta returns the host object metatable registered under name; see
// Runtime.Meta.
func (st *State) Meta(name string, build func(L *lua.LState) *lua.LTable) *lua.LTable {
	return st.rt.Meta(name, build)
}
