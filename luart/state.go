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

// State is one Lua VM with every script loaded. A session holds one State
// from connect to close, as Momentum keeps a script's upvalues per thread.
type State struct {
	L           *lua.LState
	Modules     []*Module
	rt          *Runtime
	broken      bool
	globals     map[lua.LValue]lua.LValue // snapshot taken after loading
	proxies     []*lua.LTable             // read-only library views
	info        *CallInfo                 // call in progress, for print
	loading     string                    // script being loaded, for print
	handler     *lua.LFunction            // Go message handler for PCall
	metas       map[string]*lua.LTable    // host object metatables
	lazy        map[string]Library        // msys libraries not opened yet
	env         *Env
	refuseWrite *lua.LFunction // __newindex of read-only views
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
	st := &State{L: L, rt: rt}
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
	st.snapshot()
	return st, nil
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

// snapshot records the globals after loading so reset can restore them.
func (st *State) snapshot() {
	st.globals = map[lua.LValue]lua.LValue{}
	st.L.G.Global.ForEach(func(k, v lua.LValue) { st.globals[k] = v })
}

// reset makes a State that served a session as clean as a fresh one:
// globals written by callouts are undone and read-only library views are
// emptied again. It reports false if the State can't be reused.
func (st *State) reset() bool {
	if st.broken {
		return false
	}
	g := st.L.G.Global
	var extra []lua.LValue
	kept := 0
	g.ForEach(func(k, v lua.LValue) {
		orig, ok := st.globals[k]
		switch {
		case !ok:
			extra = append(extra, k)
		case orig != v:
			g.RawSet(k, orig)
		}
		if ok {
			kept++
		}
	})
	for _, k := range extra {
		g.RawSet(k, lua.LNil)
	}
	if kept < len(st.globals) { // some were removed
		for k, v := range st.globals {
			if g.RawGet(k) == lua.LNil {
				g.RawSet(k, v)
			}
		}
	}
	for _, p := range st.proxies {
		var keys []lua.LValue
		p.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
		for _, k := range keys {
			p.RawSet(k, lua.LNil)
		}
	}
	st.L.SetTop(0)
	st.info = nil
	return true
}

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

// Meta returns the metatable registered under name in this State,
// building it once with build. Host objects (vctx, msg, ...) use it so a
// session does not rebuild method tables.
func (st *State) Meta(name string, build func(L *lua.LState) *lua.LTable) *lua.LTable {
	if st.metas == nil {
		st.metas = map[string]*lua.LTable{}
	}
	if mt, ok := st.metas[name]; ok {
		return mt
	}
	mt := build(st.L)
	st.metas[name] = mt
	return mt
}
