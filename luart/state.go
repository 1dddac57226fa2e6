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

// State is what one caller holds to run Lua: a thread of the generation's
// one Lua state. As on Momentum, whose thrLua keeps one global state for
// the whole process, every thread sees the same globals, script upvalues,
// module tables and package.loaded: what init sets in a file-level local
// is what every callout sees, and a counter upvalue counts for everyone.
// Only the stack, the call in progress and _OSTLS are the thread's own.
//
// gopher-lua threads of one state can't run at once, so the generation
// has one lock that a caller holds while it runs Lua (Enter, Leave);
// blocking library calls let go of it (Blocking), so a slow DNS lookup
// holds up no other session.
type State struct {
	L        *lua.LState
	Modules  []*Module
	rt       *Runtime
	id       uint64 // numbers the Runtime's threads from 1; the main state is 0
	broken   bool
	entered  bool          // holds the generation's lock
	slot     bool          // counted toward the bound on threads in use (Acquire)
	info     *CallInfo     // call in progress, for print
	calls    callState     // reusable context of calls into Lua
	ostls    *lua.LTable   // _OSTLS: storage that stays with the thread
	held     []*Mutex      // mutexes a script locked and has not unlocked
	coActive []*lua.LState // coroutines resumed and not yet back, outermost first

	// What the main state built and every thread shares.
	*world
}

// world is what the generation's threads share: the main state's
// libraries and the machinery of the sandbox.
type world struct {
	loading     string             // script being loaded, for print
	handler     *lua.LFunction     // Go message handler for PCall
	lazy        map[string]Library // msys libraries not opened yet
	env         *Env
	refuseWrite *lua.LFunction // __newindex of read-only views
	pkgLoaded   *lua.LTable    // package.loaded; see loaded
	coCreate    lua.LGFunction // gopher-lua's coroutine.create
	coResume    lua.LGFunction // gopher-lua's coroutine.resume
}

// newMainState builds the sandboxed main state and runs every script in
// it, once per generation.
func (rt *Runtime) newMainState() (*State, error) {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       200,
		RegistrySize:        256,
		RegistryMaxSize:     256 * 1024,
		MinimizeStackMemory: true,
	})
	st := &State{L: L, rt: rt, world: &world{}}
	st.calls.owner = st
	if err := st.openLibraries(); err != nil {
		L.Close()
		return nil, err
	}
	// Nobody else can reach the state yet, but a library that waits
	// (Blocking) while a script loads gives the lock back and takes it
	// again, so it is taken for real.
	if err := st.Enter(context.Background()); err != nil {
		L.Close()
		return nil, err
	}
	defer st.Leave()
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
	return st, nil
}

// newThread makes a thread of the main state.
func (rt *Runtime) newThread() *State {
	L, _ := rt.main.L.NewThread()
	st := &State{L: L, rt: rt, id: rt.stateIDs.Add(1), Modules: rt.main.Modules, world: rt.main.world}
	st.calls.owner = st
	return st
}

// threadOf returns the State whose call L runs under: L is that State's
// thread or a coroutine it resumed. Outside a call it is the main state.
func (rt *Runtime) threadOf(L *lua.LState) *State {
	if st := stateFrom(L); st != nil {
		return st
	}
	return rt.main
}

type stateKey struct{}

// registerModule implements msys.registerModule(name, tbl).
func (st *State) registerModule(L *lua.LState) int {
	name := L.CheckString(1)
	tbl := L.CheckTable(2)
	for _, m := range st.Modules {
		if m.Name == name {
			L.RaiseError("module %q registered twice", name)
		}
	}
	usable := st.rt.cfg.Callouts == nil
	tbl.ForEach(func(k, v lua.LValue) {
		if _, ok := v.(*lua.LFunction); ok && slices.Contains(st.rt.cfg.Callouts, k.String()) {
			usable = true
		}
	})
	if !usable {
		st.rt.cfg.Log.Warn("no usable methods found for module in registerModule call", "module", name)
	}
	st.Modules = append(st.Modules, &Module{Name: name, Script: st.loading, Table: tbl})
	return 0
}

// clear drops what the last call left on the stack and its call info.
func (st *State) clear() {
	st.L.SetTop(0)
	st.info = nil
}

// ID tells the Runtime's threads apart, for AcquireAgain.
func (st *State) ID() uint64 { return st.id }

// Broken reports whether the thread saw a Go panic and must be discarded.
func (st *State) Broken() bool { return st.broken }

// discard lets a thread go: its call machinery stops watching the last
// caller's context (which may live as long as the server), so nothing
// keeps the thread from the collector.
func (st *State) discard() {
	st.calls.release()
	st.Close()
}

// Close releases the main state's VM. A thread is left to the collector:
// gopher-lua's Close would also act on the shared state.
func (st *State) Close() {
	if st == st.rt.main {
		st.L.Close()
	}
}

// logger returns a logger tagged with the module running now.
func (st *State) logger() *slog.Logger {
	l := st.rt.cfg.Log
	switch {
	case st.info != nil:
		// The embedding program's session logger carries session id,
		// client and queue id; without one, tag what CallInfo knows.
		var hl *slog.Logger
		if st.info.Host != nil {
			hl = st.info.Host.Logger()
		}
		if hl != nil {
			l = hl
		} else if st.info.QueueID != "" {
			l = l.With("queue_id", st.info.QueueID)
		}
		l = l.With("module", st.info.Module)
	case st.loading != "":
		l = l.With("script", st.loading)
	}
	return l
}

// Meta returns the host object metatable registered under name; see
// Runtime.Meta.
func (st *State) Meta(name string, build func(L *lua.LState) *lua.LTable) *lua.LTable {
	return st.rt.Meta(name, build)
}
