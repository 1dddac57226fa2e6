// Package gaugecache implements msys.gauge_cache: named caches of
// string-keyed up/down counters that are forgotten ttl seconds after their
// last change, on top of the shared counter store.
package gaugecache

import (
	"context"
	"fmt"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
	"github.com/luamilter/luamilter/modules/store"
)

const libName = "msys.gauge_cache"

// Options configures a Library.
type Options struct {
	// Store holds the gauges; it may be shared with other libraries.
	Store *store.Shared
}

// Library is the msys.gauge_cache luart.Library. Its definitions are
// shared by every Lua state it is opened in.
type Library struct {
	st   *store.Shared
	mu   sync.RWMutex
	defs map[string]store.Gauge
}

// New returns a gauge_cache library with no caches defined.
func New(opts Options) *Library {
	return &Library{st: opts.Store, defs: make(map[string]store.Gauge)}
}

// Name implements luart.Library.
func (l *Library) Name() string { return libName }

// Open implements luart.Library.
func (l *Library) Open(L *lua.LState, _ *luart.Env) lua.LValue {
	t := L.NewTable()
	t.RawSetString("define", L.NewFunction(l.luaDefine))
	t.RawSetString("inc", L.NewFunction(l.adder("inc", 1)))
	t.RawSetString("dec", L.NewFunction(l.adder("dec", -1)))
	t.RawSetString("get", L.NewFunction(l.luaGet))
	t.RawSetString("remove_item", L.NewFunction(l.luaRemove))
	return t
}

// Define records a cache; re-defining a name replaces its limits.
func (l *Library) Define(name string, maxElems int, ttl time.Duration) error {
	if maxElems < 1 {
		return fmt.Errorf("gauge cache %s: maxelems %d must be at least 1", name, maxElems)
	}
	if ttl < time.Second {
		return fmt.Errorf("gauge cache %s: ttl %v must be at least one second", name, ttl)
	}
	l.mu.Lock()
	l.defs[name] = store.Gauge{MaxElems: maxElems, TTL: ttl}
	l.mu.Unlock()
	return nil
}

// luaDefine implements define(name, maxelems, ttl[, replicated]).
// replicated is accepted and ignored: a Redis store is shared anyway.
func (l *Library) luaDefine(L *lua.LState) int {
	name := L.CheckString(1)
	maxElems := L.CheckInt(2)
	ttl := time.Duration(float64(L.CheckNumber(3)) * float64(time.Second))
	if err := l.Define(name, maxElems, ttl); err != nil {
		L.RaiseError("%s.define: %v", libName, err)
	}
	return 0
}

// args reads (name, key) and the cache's definition.
func (l *Library) args(L *lua.LState, fn string) (string, string, store.Gauge) {
	name := L.CheckString(1)
	key := L.CheckString(2)
	l.mu.RLock()
	g, ok := l.defs[name]
	l.mu.RUnlock()
	if !ok {
		L.RaiseError("%s.%s: gauge cache %q is not defined", libName, fn, name)
	}
	return "gc:" + name, key, g
}

func (l *Library) check(L *lua.LState, err error) {
	if err = l.st.Check(libName, err); err != nil {
		L.RaiseError("%s", err.Error())
	}
}

// adder implements inc and dec; both return the new value. A gauge never
// goes below zero.
func (l *Library) adder(fn string, delta int64) lua.LGFunction {
	return func(L *lua.LState) int {
		cache, key, g := l.args(L, fn)
		var n int64
		var err error
		luactx.Wait(L, func(ctx context.Context) { n, err = l.st.GaugeAdd(ctx, cache, key, delta, g) })
		l.check(L, err)
		L.Push(lua.LNumber(n))
		return 1
	}
}

// luaGet implements get(name, key): 0 for absent or expired keys.
func (l *Library) luaGet(L *lua.LState) int {
	cache, key, _ := l.args(L, "get")
	var n int64
	var err error
	luactx.Wait(L, func(ctx context.Context) { n, err = l.st.GaugeGet(ctx, cache, key) })
	l.check(L, err)
	L.Push(lua.LNumber(n))
	return 1
}

// luaRemove implements remove_item(name, key).
func (l *Library) luaRemove(L *lua.LState) int {
	cache, key, _ := l.args(L, "remove_item")
	var err error
	luactx.Wait(L, func(ctx context.Context) { err = l.st.GaugeRemove(ctx, cache, key) })
	l.check(L, err)
	return 0
}
