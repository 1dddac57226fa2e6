// Package counter implements msys.counter: named monotonic counters
// ("/site/joe/errors") kept in the shared counter store, so that several
// milter instances on one Redis add up to one count.
package counter

import (
	"context"
	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
	"github.com/luamilter/luamilter/modules/store"
)

const (
	libName  = "msys.counter"
	typeName = "msys.counter"
)

// Counter semantics constants. Momentum uses them to pick a locking
// strategy; both behave the same here.
const (
	Strict  = 1
	Relaxed = 2
)

// Handle is the userdata msys.counter.open returns.
type Handle struct {
	Path string
	Mode int
}

// Options configures the msys.counter library.
type Options struct {
	// Store holds the counters; it may be shared with other libraries.
	Store *store.Shared
}

// New returns the msys.counter library.
func New(opts Options) luart.Library {
	l := &binding{st: opts.Store}
	return luart.Lib(libName, l.open)
}

// binding is msys.counter's functions, all on one store.
type binding struct{ st *store.Shared }

func (l *binding) open(L *lua.LState, _ *luart.Env) lua.LValue {
	mt := L.NewTypeMetatable(typeName)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(typeName + ": " + handle(L, 1, "tostring").Path))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString(typeName))
	t := L.NewTable()
	t.RawSetString("STRICT", lua.LNumber(Strict))
	t.RawSetString("RELAXED", lua.LNumber(Relaxed))
	t.RawSetString("open", L.NewFunction(l.luaOpen))
	t.RawSetString("inc", L.NewFunction(func(L *lua.LState) int { return l.add(L, "inc", 1) }))
	t.RawSetString("add", L.NewFunction(func(L *lua.LState) int { return l.add(L, "add", int64(L.CheckNumber(2))) }))
	t.RawSetString("read", L.NewFunction(l.luaRead))
	t.RawSetString("reset", L.NewFunction(l.luaReset))
	t.RawSetString("unlink", L.NewFunction(l.luaUnlink))
	return t
}

// handle reads argument n as a counter handle or a path.
func handle(L *lua.LState, n int, fn string) *Handle {
	switch v := L.Get(n).(type) {
	case lua.LString:
		if v == "" {
			L.RaiseError("%s.%s: empty counter path", libName, fn)
		}
		return &Handle{Path: string(v), Mode: Strict}
	case *lua.LUserData:
		if h, ok := v.Value.(*Handle); ok {
			return h
		}
	}
	L.RaiseError("%s.%s: bad argument #%d (counter or path expected, got %s)", libName, fn, n, L.Get(n).Type())
	return nil
}

func (l *binding) check(L *lua.LState, err error) {
	if err = l.st.Check(libName, err); err != nil {
		L.RaiseError("%s", err.Error())
	}
}

// luaOpen implements open(path[, STRICT|RELAXED]).
func (l *binding) luaOpen(L *lua.LState) int {
	path := L.CheckString(1)
	if path == "" {
		L.RaiseError("%s.open: empty counter path", libName)
	}
	mode := L.OptInt(2, Strict)
	if mode != Strict && mode != Relaxed {
		L.RaiseError("%s.open: semantics %d: want msys.counter.STRICT or msys.counter.RELAXED", libName, mode)
	}
	ud := L.NewUserData()
	ud.Value = &Handle{Path: path, Mode: mode}
	L.SetMetatable(ud, L.GetTypeMetatable(typeName))
	L.Push(ud)
	return 1
}

// add implements inc and add; both return the new value.
func (l *binding) add(L *lua.LState, fn string, delta int64) int {
	h := handle(L, 1, fn)
	var n int64
	var err error
	luactx.Wait(L, func(ctx context.Context) { n, err = l.st.CounterAdd(ctx, h.Path, delta) })
	l.check(L, err)
	L.Push(lua.LNumber(n))
	return 1
}

// luaRead implements read(obj_or_path).
func (l *binding) luaRead(L *lua.LState) int {
	path := handle(L, 1, "read").Path
	var n int64
	var err error
	luactx.Wait(L, func(ctx context.Context) { n, err = l.st.CounterGet(ctx, path) })
	l.check(L, err)
	L.Push(lua.LNumber(n))
	return 1
}

// luaReset implements reset(obj_or_path).
func (l *binding) luaReset(L *lua.LState) int {
	path := handle(L, 1, "reset").Path
	var err error
	luactx.Wait(L, func(ctx context.Context) { err = l.st.CounterReset(ctx, path) })
	l.check(L, err)
	return 0
}

// luaUnlink implements unlink(path).
func (l *binding) luaUnlink(L *lua.LState) int {
	path := handle(L, 1, "unlink").Path
	var err error
	luactx.Wait(L, func(ctx context.Context) { err = l.st.CounterDelete(ctx, path) })
	l.check(L, err)
	return 0
}
