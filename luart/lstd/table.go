package lstd

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// maxCStack is Lua 5.1's LUAI_MAXCSTACK, the most values a C function may
// push; unpack refuses ranges beyond it instead of exhausting memory.
const maxCStack = 8000

// tableConcat is Lua 5.1's table.concat, built linearly and capped at
// MaxStringSize. Argument checks run in C Lua's order (separator first).
func (lim Limits) tableConcat(L *lua.LState) int {
	sep := optString(L, 2, "concat", "")
	tb := checkTable(L, 1, "concat")
	i := int64(optInt(L, 3, "concat", 1))
	last := int64(optInt(L, 4, "concat", tb.Len()))
	var b strings.Builder
	b.Grow(concatSizeHint(tb, i, last, len(sep), lim.MaxStringSize))
	add := func(i int64) {
		v := tb.RawGetInt(int(i))
		s, ok := toStringValue(v)
		if !ok {
			raise(L, "invalid value (%s) at index %d in table for 'concat'", v.Type().String(), i)
		}
		if b.Len()+len(s) > lim.MaxStringSize {
			raise(L, "%s", tooLarge("table.concat", b.Len()+len(s), lim.MaxStringSize))
		}
		b.WriteString(s)
	}
	for ; i < last; i++ {
		add(i)
		if b.Len()+len(sep) > lim.MaxStringSize {
			raise(L, "%s", tooLarge("table.concat", b.Len()+len(sep), lim.MaxStringSize))
		}
		b.WriteString(sep)
	}
	if i == last {
		add(i)
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// concatSizeHint estimates the result size from the string items so the
// builder allocates once; numbers are counted at a typical width.
func concatSizeHint(tb *lua.LTable, i, last int64, lsep, max int) int {
	if last-i > 1<<24 {
		return 0 // nonsense ranges fail on the first missing item anyway
	}
	n := 0
	for ; i <= last && n <= max; i++ {
		switch v := tb.RawGetInt(int(i)).(type) {
		case lua.LString:
			n += len(v) + lsep
		case lua.LNumber:
			n += 8 + lsep
		default:
			return 0
		}
	}
	return min(n, max)
}

func tableGetn(L *lua.LState) int {
	L.Push(lua.LNumber(checkTable(L, 1, "getn").Len()))
	return 1
}

func tableSetn(L *lua.LState) int {
	checkTable(L, 1, "setn")
	raise(L, "'setn' is obsolete")
	return 0
}

// tableMaxn returns the largest positive numeric key, integer or not.
func tableMaxn(L *lua.LState) int {
	tb := checkTable(L, 1, "maxn")
	max := 0.0
	tb.ForEach(func(k, _ lua.LValue) {
		if n, ok := k.(lua.LNumber); ok && float64(n) > max {
			max = float64(n)
		}
	})
	L.Push(lua.LNumber(max))
	return 1
}

func checkFunction(L *lua.LState, n int, fname string) *lua.LFunction {
	if n <= L.GetTop() {
		if fn, ok := L.Get(n).(*lua.LFunction); ok {
			return fn
		}
	}
	typeError(L, n, fname, "function")
	return nil
}

// callPair calls fn(k, v) and reports its result when it is not nil.
func callPair(L *lua.LState, fn *lua.LFunction, k, v lua.LValue) (lua.LValue, bool) {
	L.Push(fn)
	L.Push(k)
	L.Push(v)
	L.Call(2, 1)
	r := L.Get(-1)
	L.Pop(1)
	return r, r != lua.LNil
}

func tableForeachi(L *lua.LState) int {
	tb := checkTable(L, 1, "foreachi")
	n := tb.Len()
	fn := checkFunction(L, 2, "foreachi")
	for i := 1; i <= n; i++ {
		if r, ok := callPair(L, fn, lua.LNumber(i), tb.RawGetInt(i)); ok {
			L.Push(r)
			return 1
		}
	}
	return 0
}

func tableForeach(L *lua.LState) int {
	tb := checkTable(L, 1, "foreach")
	fn := checkFunction(L, 2, "foreach")
	for k, v := tb.Next(lua.LNil); k != lua.LNil; k, v = tb.Next(k) {
		if r, ok := callPair(L, fn, k, v); ok {
			L.Push(r)
			return 1
		}
	}
	return 0
}

// tableUnpack is Lua 5.1's unpack, including its limit on the number of
// results, so unpack(t, 1, 1e9) is an error rather than a memory blow-up.
// gopher-lua's value stack (Options.RegistrySize) may be smaller than Lua
// 5.1's 8000 slots; then large ranges fail with "registry overflow".
func tableUnpack(L *lua.LState) int {
	tb := checkTable(L, 1, "unpack")
	i := int64(optInt(L, 2, "unpack", 1))
	e := int64(optInt(L, 3, "unpack", tb.Len()))
	if i > e {
		return 0
	}
	n := e - i + 1
	if n > maxCStack || int64(L.GetTop())+n > maxCStack {
		raise(L, "too many results to unpack")
	}
	for ; i <= e; i++ {
		L.Push(tb.RawGetInt(int(i)))
	}
	return int(n)
}
