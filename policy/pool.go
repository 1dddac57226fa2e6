package policy

import (
	"runtime"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// PoolLibrary returns the msys functions runInPool, config and
// registerControl (see registerControl in control.go).
//
// msys.runInPool(pool, fn[, true | completion_fn]) runs fn pcall-style
// and returns ok, results.... Momentum moves fn to another thread of its
// shared interpreter; a gopher-lua closure can't leave its State, so
// luamilter runs fn in the caller's State but admits at most the pool's
// size of such calls at once across the process ("IO" 32, "CPU" the number
// of cores, other names 8), which is what bounds the blocking work.
// Fire-and-forget (true) also runs fn before returning; a completion
// function is called with fn's results.
func PoolLibrary() luart.Library {
	return &poolLibrary{pools: map[string]chan struct{}{}}
}

type poolLibrary struct {
	mu    sync.Mutex
	pools map[string]chan struct{}
}

func (p *poolLibrary) Name() string { return "msys" }

func (p *poolLibrary) pool(name string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.pools[name]; ok {
		return c
	}
	size := 8
	switch name {
	case "IO":
		size = 32
	case "CPU":
		size = runtime.NumCPU()
	}
	c := make(chan struct{}, size)
	p.pools[name] = c
	return c
}

func (p *poolLibrary) Open(L *lua.LState, env *luart.Env) lua.LValue {
	t := L.CreateTable(0, 3)
	t.RawSetString("runInPool", L.NewFunction(p.runInPool))
	t.RawSetString("config", L.NewFunction(func(L *lua.LState) int {
		// msys.config("get", [scope, name, ...,] option) reads a luamilter setting.
		if L.CheckString(1) != "get" {
			L.ArgError(1, "only \"get\" is supported")
		}
		key := L.CheckString(L.GetTop())
		if v, ok := env.Setting(key); ok {
			L.Push(lua.LString(v))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}))
	t.RawSetString("registerControl", L.NewFunction(registerControl))
	return t
}

func (p *poolLibrary) runInPool(L *lua.LState) int {
	pool := p.pool(L.CheckString(1))
	fn := L.CheckFunction(2)
	done := L.Get(3)
	select {
	case pool <- struct{}{}:
	default:
		// The pool's calls are waiting outside Lua or for the Lua lock;
		// wait without it, or none of them could finish.
		ctx := L.Context()
		var err error
		luart.Blocking(L, func() {
			select {
			case pool <- struct{}{}:
			case <-ctx.Done():
				err = ctx.Err()
			}
		})
		if err != nil {
			L.RaiseError("msys.runInPool: %v", err)
		}
	}
	defer func() { <-pool }()
	pcall := L.GetGlobal("pcall")
	top := L.GetTop()
	L.Push(pcall)
	L.Push(fn)
	L.Call(1, lua.MultRet)
	n := L.GetTop() - top
	if f, ok := done.(*lua.LFunction); ok {
		L.Push(f)
		for i := 1; i <= n; i++ {
			L.Push(L.Get(top + i))
		}
		L.Call(n, 0)
	}
	return n
}

// Libraries returns every luart.Library this package provides: msys.core's
// session functions and msys.expandMacro, msys.timer, and runInPool,
// config and registerControl.
func Libraries() []luart.Library {
	return []luart.Library{CoreLibrary(), TimerLibrary(), PoolLibrary()}
}
