package luart

import (
	"fmt"
	"slices"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// thrLua's threading extras that Momentum scripts use: require("thread")
// with thread.mutex(), msys.lock and msys.unlock, and the per-session and
// per-thread storage tables _TLS and _OSTLS.
//
// Scripts share one state (see State), so a mutex really excludes every
// session that takes it. Waiting for one lets go of the generation's lock
// (Blocking), or the holder could never come back to unlock it. A mutex
// can't stay locked past the SMTP command that locked it: Leave unlocks
// what a script left locked, with a warning, since a callout that failed
// between lock and unlock would otherwise stall every later session.

// Mutex kinds, as thrLua's thread.MUTEX_* (pthread's values on Linux).
const (
	mutexNormal     = 0
	mutexRecursive  = 1
	mutexErrorCheck = 2
)

// Mutex is a script's mutex: a thread.mutex() or a name given to
// msys.lock.
type Mutex struct {
	name      string
	kind      int
	slot      chan struct{}
	holder    *State // guarded by slot: set only by the holder
	recursion int
}

func newMutex(name string, kind int) *Mutex {
	return &Mutex{name: name, kind: kind, slot: make(chan struct{}, 1)}
}

// lock takes m for st, waiting (without the generation's lock) until the
// call's deadline. It raises the error the mutex kind calls for when st
// holds m already.
func (m *Mutex) lock(L *lua.LState, st *State) {
	if m.holder == st {
		switch m.kind {
		case mutexRecursive:
			m.recursion++
			return
		case mutexErrorCheck:
			L.RaiseError("%s: already locked by this session (deadlock)", m.name)
		default:
			L.RaiseError("%s: locked twice by the same session; it would wait for itself forever", m.name)
		}
	}
	select {
	case m.slot <- struct{}{}:
	default:
		ctx := L.Context()
		var err error
		Blocking(L, func() {
			if ctx == nil {
				m.slot <- struct{}{}
				return
			}
			select {
			case m.slot <- struct{}{}:
			case <-ctx.Done():
				err = ctx.Err()
			}
		})
		if err != nil {
			L.RaiseError("%s: gave up waiting for the lock: %v", m.name, err)
		}
	}
	m.holder = st
	st.held = append(st.held, m)
}

// trylock takes m for st if it is free.
func (m *Mutex) trylock(st *State) bool {
	if m.holder == st && m.kind == mutexRecursive {
		m.recursion++
		return true
	}
	select {
	case m.slot <- struct{}{}:
		m.holder = st
		st.held = append(st.held, m)
		return true
	default:
		return false
	}
}

// unlock gives m back; only its holder may.
func (m *Mutex) unlock(L *lua.LState, st *State) {
	if m.holder != st {
		L.RaiseError("%s: unlock of a mutex this session does not hold", m.name)
	}
	if m.recursion > 0 {
		m.recursion--
		return
	}
	m.release(st)
}

func (m *Mutex) release(st *State) {
	if i := slices.Index(st.held, m); i >= 0 {
		st.held = slices.Delete(st.held, i, i+1)
	}
	m.holder, m.recursion = nil, 0
	<-m.slot
}

// unlockHeld releases what the thread's scripts left locked.
func (st *State) unlockHeld() {
	for len(st.held) > 0 {
		m := st.held[len(st.held)-1]
		st.logger().Warn("a script left a mutex locked at the end of the command; unlocked", "mutex", m.name)
		m.release(st)
	}
}

// namedMutexes are msys.lock's mutexes, one per name, shared by the
// generation.
type namedMutexes struct {
	mu sync.Mutex
	m  map[string]*Mutex
}

func (n *namedMutexes) get(name string) *Mutex {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = map[string]*Mutex{}
	}
	mx, ok := n.m[name]
	if !ok {
		mx = newMutex(fmt.Sprintf("msys.lock(%q)", name), mutexErrorCheck)
		n.m[name] = mx
	}
	return mx
}

// threadLibrary builds what require("thread") returns.
func (st *State) threadLibrary(L *lua.LState) *lua.LTable {
	mt := L.CreateTable(0, 3)
	methods := L.CreateTable(0, 3)
	check := func(L *lua.LState) *Mutex {
		m, ok := L.CheckUserData(1).Value.(*Mutex)
		if !ok {
			L.ArgError(1, "mutex expected")
		}
		return m
	}
	methods.RawSetString("lock", L.NewFunction(func(L *lua.LState) int {
		check(L).lock(L, st.rt.threadOf(L))
		L.Push(lua.LTrue)
		return 1
	}))
	methods.RawSetString("unlock", L.NewFunction(func(L *lua.LState) int {
		check(L).unlock(L, st.rt.threadOf(L))
		L.Push(lua.LTrue)
		return 1
	}))
	methods.RawSetString("trylock", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(check(L).trylock(st.rt.threadOf(L))))
		return 1
	}))
	mt.RawSetString("__index", methods)
	mt.RawSetString("__name", lua.LString("thread.mutex"))
	mt.RawSetString("__metatable", lua.LString("thread.mutex"))
	lib := L.CreateTable(0, 6)
	lib.RawSetString("MUTEX_NORMAL", lua.LNumber(mutexNormal))
	lib.RawSetString("MUTEX_RECURSIVE", lua.LNumber(mutexRecursive))
	lib.RawSetString("MUTEX_ERRORCHECK", lua.LNumber(mutexErrorCheck))
	lib.RawSetString("mutex", L.NewFunction(func(L *lua.LState) int {
		kind := L.OptInt(1, mutexErrorCheck)
		if kind != mutexNormal && kind != mutexRecursive && kind != mutexErrorCheck {
			L.ArgError(1, "specify one of thread.MUTEX_NORMAL, thread.MUTEX_RECURSIVE or thread.MUTEX_ERRORCHECK")
		}
		ud := L.NewUserData()
		ud.Value = newMutex("thread.mutex", kind)
		ud.Metatable = mt
		L.Push(ud)
		return 1
	}))
	unsupported := func(name string) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("thread.%s is not supported by luamilter: sessions are the threads; use thread.mutex to guard shared data", name)
			return 0
		})
	}
	for _, name := range []string{"create", "condition", "rwlock", "sleep"} {
		lib.RawSetString(name, unsupported(name))
	}
	return lib
}

// installLocks adds msys.lock and msys.unlock to the msys table.
func (st *State) installLocks(msys *lua.LTable) {
	L := st.L
	named := &namedMutexes{}
	msys.RawSetString("lock", L.NewFunction(func(L *lua.LState) int {
		named.get(L.CheckString(1)).lock(L, st.rt.threadOf(L))
		L.Push(lua.LTrue)
		return 1
	}))
	msys.RawSetString("unlock", L.NewFunction(func(L *lua.LState) int {
		named.get(L.CheckString(1)).unlock(L, st.rt.threadOf(L))
		L.Push(lua.LTrue)
		return 1
	}))
}

// installTLS gives the globals thrLua's metatable: reading _TLS returns
// the session's own table, _OSTLS the thread's. A script that sets its
// own metatable on _G (strict.lua does) takes them away, as on thrLua.
func (st *State) installTLS() {
	L := st.L
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		switch L.CheckString(2) {
		case "_TLS":
			info := CallInfoFrom(L.Context())
			if info.TLS == nil {
				info.TLS = L.CreateTable(0, 4)
			}
			L.Push(info.TLS)
		case "_OSTLS":
			cur := st.rt.threadOf(L)
			if cur.ostls == nil {
				cur.ostls = L.CreateTable(0, 4)
			}
			L.Push(cur.ostls)
		default:
			L.Push(lua.LNil)
		}
		return 1
	}))
	L.G.Global.Metatable = mt
}
