package luart

import (
	"context"
	"fmt"
	"log/slog"

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
	proxies     []*lua.LTable      // read-only library views
	info        *CallInfo          // call in progress, for print
	loading     string             // script being loaded, for print
	handler     *lua.LFunction     // Go message handler for PCall
	lazy        map[string]Library // msys libraries not opened yet
	env         *Env
	refuseWrite *lua.LFunction // __newindex of read-only views
	pkgLoaded   *lua.LTable    // package.loaded; see loaded
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
	if rt.cfg.Unsafe {
		st.snapshot()
	} else {
		st.snapshot(removedGlobals...)
	}
	return st, nil
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

// snapshot records the globals after loading so Clean and reset can
// compare with them without walking the table. gopher-lua appends a new
// key at the end of a table's key order and never removes one, so every
// global added later comes after the last key seen here; globals removed
// while loading (the sandbox's dofile and loadfile) are recorded as nil
// so that writing them again counts as a change.
func (st *State) snapshot(removed ...string) {
	g := st.L.G.Global
	st.globals = st.globals[:0]
	for k, v := g.Next(lua.LNil); k != lua.LNil; k, v = g.Next(k) {
		st.globals = append(st.globals, globalEntry{k, v})
		st.lastGlobal = k
	}
	for _, name := range removed {
		st.globals = append(st.globals, globalEntry{lua.LString(name), lua.LNil})
	}
	st.arrayLen = g.Len()
}

// Clean reports whether the State is as it was after loading: no global
// written, added or removed, and nothing stored in a read-only library
// view. A clean State can serve another session without a reset. It does
// not look at script upvalues or package.loaded, which are per State on
// Momentum too. A global that a script removed while loading and then
// writes again is not seen (gopher-lua keeps its old key position).
//
// When no function of the scripts can change an existing global (see
// mayWriteGlobals), only additions and the library views are looked at.
func (st *State) Clean() bool {
	g := st.L.G.Global
	if st.rt.globalWrites {
		for _, e := range st.globals {
			if rawGet(g, e.key) != e.value {
				return false
			}
		}
	}
	if k, _ := g.Next(st.lastGlobal); k != lua.LNil {
		return false
	}
	if g.Len() != st.arrayLen {
		return false
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
	// restore compares every global whatever mayWriteGlobals said: a
	// reset is rare (a session that kept its State closes), so it can
	// afford not to rely on the static look.
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
