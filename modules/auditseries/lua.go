package auditseries

import (
	"context"
	"slices"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/modules/internal/luactx"
)

// luaDefine implements define(name, type, interval_s, num_windows[, opts]).
// opts.masks (a list of prefix lengths) is our extension; serialize,
// replicate and persist are accepted and ignored.
func (l *Library) luaDefine(L *lua.LState) int {
	name := L.CheckString(1)
	typ := L.CheckString(2)
	interval := L.CheckNumber(3)
	windows := L.CheckInt(4)
	var masks []int
	if opts, ok := L.Get(5).(*lua.LTable); ok {
		if mt, ok := opts.RawGetString("masks").(*lua.LTable); ok {
			masks = []int{}
			for i := 1; i <= mt.Len(); i++ {
				n, ok := mt.RawGetInt(i).(lua.LNumber)
				if !ok {
					L.RaiseError("%s.define: masks[%d] must be a number", libName, i)
				}
				masks = append(masks, int(n))
			}
		}
	}
	if err := l.Define(name, typ, time.Duration(float64(interval)*float64(time.Second)), windows, masks); err != nil {
		L.RaiseError("%s.define: %v", libName, err)
	}
	return 0
}

// keyArg reads the key of add/count/remove_item: a non-table option is the
// key itself, a table option carries it in its key field.
func keyArg(L *lua.LState, opt lua.LValue) lua.LValue {
	if t, ok := opt.(*lua.LTable); ok && t.RawGetString("remote_ip") == lua.LNil && t.RawGetString("remote_addr") == lua.LNil {
		return t.RawGetString("key")
	}
	return opt
}

// storeKeys maps a Lua key to the store keys of s it touches: for an add,
// every tracked prefix not longer than the key's; otherwise the key's own.
func (l *Library) storeKeys(L *lua.LState, fn string, s *series, key lua.LValue, add bool) []string {
	k, peer, err := luaAddr(L, key)
	if err != nil {
		L.RaiseError("%s.%s: %v", libName, fn, err)
	}
	if s.typ == TypeString {
		if key == lua.LNil || peer {
			L.RaiseError("%s.%s: string series %s needs a string key", libName, fn, s.name)
		}
		return []string{k}
	}
	a, ok, err := s.resolve(luactx.Of(L), k, peer)
	if err != nil {
		L.RaiseError("%s.%s: %v", libName, fn, err)
	}
	if !ok {
		return nil
	}
	if !add {
		if !slices.Contains(s.masks, a.mask) {
			L.RaiseError("%s.%s: series %s does not track /%d (tracked: %v; see define's masks option)", libName, fn, s.name, a.mask, s.masks)
		}
		return []string{a.prefix(a.mask)}
	}
	var keys []string
	for _, m := range s.masks {
		if m <= a.mask {
			keys = append(keys, a.prefix(m))
		}
	}
	return keys
}

func (l *Library) series(L *lua.LState, fn string) *series {
	s, err := l.lookup(L.CheckString(1))
	if err != nil {
		L.RaiseError("%s.%s: %v", libName, fn, err)
	}
	return s
}

// check applies the store's fail mode to err.
func (l *Library) check(L *lua.LState, err error) {
	if err = l.st.Check(libName, err); err != nil {
		L.RaiseError("%s", err.Error())
	}
}

// luaAdd implements add(name[, {count=1, key=...} | key]).
func (l *Library) luaAdd(L *lua.LState) int {
	s := l.series(L, "add")
	opt := L.Get(2)
	count := int64(1)
	if t, ok := opt.(*lua.LTable); ok {
		switch c := t.RawGetString("count").(type) {
		case *lua.LNilType:
		case lua.LNumber:
			count = int64(c)
		default:
			L.RaiseError("%s.add: count must be a number, got %s", libName, c.Type())
		}
	}
	// add returns the key's count in the current window including this
	// add, from one atomic round trip (a luamilter extension; Momentum's
	// add returns nothing). Comparing it with a limit holds exactly even
	// when several sidecars share one Redis.
	var total int64
	name := s.storeName()
	keys := l.storeKeys(L, "add", s, keyArg(L, opt), true)
	var err error
	luactx.Wait(L, func(ctx context.Context) {
		for i, k := range keys {
			if i == 0 {
				total, err = l.st.AddAndCount(ctx, name, k, count, s.win, 0, 0)
			} else {
				err = l.st.AddWindowed(ctx, name, k, count, s.win)
			}
			if err != nil {
				break
			}
		}
	})
	if err != nil {
		l.check(L, err)
	}
	L.Push(lua.LNumber(total))
	return 1
}

// luaCount implements count(name[, {key, startv=0, endv=0} | key]).
func (l *Library) luaCount(L *lua.LState) int {
	s := l.series(L, "count")
	opt := L.Get(2)
	startv, endv := windowRange(L, "count", opt)
	var n int64
	if keys := l.storeKeys(L, "count", s, keyArg(L, opt), false); keys != nil {
		var err error
		luactx.Wait(L, func(ctx context.Context) {
			n, err = l.st.CountWindowed(ctx, s.storeName(), keys[0], s.win, startv, endv)
		})
		l.check(L, err)
	}
	L.Push(lua.LNumber(n))
	return 1
}

// windowRange reads startv and endv from an options table.
func windowRange(L *lua.LState, fn string, opt lua.LValue) (startv, endv int) {
	t, ok := opt.(*lua.LTable)
	if !ok {
		return 0, 0
	}
	get := func(f string) int {
		switch v := t.RawGetString(f).(type) {
		case *lua.LNilType:
			return 0
		case lua.LNumber:
			if v < 0 {
				L.RaiseError("%s.%s: %s must not be negative", libName, fn, f)
			}
			return int(v)
		default:
			L.RaiseError("%s.%s: %s must be a number, got %s", libName, fn, f, v.Type())
			return 0
		}
	}
	return get("startv"), get("endv")
}

// luaRemove implements remove_item(name[, key]). For a CIDR series it
// forgets the total of the key's own prefix ("ip" = the /32 or /128
// total); the wider totals keep what was added through that address.
func (l *Library) luaRemove(L *lua.LState) int {
	s := l.series(L, "remove_item")
	if keys := l.storeKeys(L, "remove_item", s, keyArg(L, L.Get(2)), false); keys != nil {
		var err error
		luactx.Wait(L, func(ctx context.Context) { err = l.st.RemoveWindowed(ctx, s.storeName(), keys[0], s.win) })
		l.check(L, err)
	}
	return 0
}
