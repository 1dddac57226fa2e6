package dialect

import (
	"errors"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Names of the global functions that translated code calls. The prefix
// keeps them apart from names a script would choose.
const (
	HelperAnd    = "__luamilter_band"   // a & b
	HelperOr     = "__luamilter_bor"    // a | b
	HelperXor    = "__luamilter_bxor"   // a ^^ b
	HelperShl    = "__luamilter_shl"    // a << b
	HelperShr    = "__luamilter_shr"    // a >> b
	HelperNot    = "__luamilter_bnot"   // ~a
	HelperIntDiv = "__luamilter_idiv"   // a \ b
	HelperMerge  = "__luamilter_tmerge" // split table constructors
	HelperIter   = "__luamilter_iter"   // for ... in explist (the __iter event)
)

// HelperNames lists every helper a translated chunk may call.
func HelperNames() []string {
	return []string{HelperAnd, HelperOr, HelperXor, HelperShl, HelperShr, HelperNot, HelperIntDiv, HelperMerge, HelperIter}
}

// Helpers returns the helper functions by name.
//
// Their semantics are those of thrLua built for x86-64 (luaconf.h and
// lvm.c), not a 32-bit bit library:
//
//   - Operands are numbers, or strings that convert to numbers (a string
//     with a leading 0 is read as octal or hex, as thrLua's luaO_str2d does).
//   - Each operand is truncated toward zero to a signed 64-bit integer, like
//     the C cast (lua_Integer)d; NaN and values outside the int64 range
//     become -2^63, as the x86-64 conversion instruction yields.
//   - The integer result is returned as a number, so ~0 is -1 and
//     0xFFFFFFFF & ~0 is 4294967295. Results beyond 2^53 lose precision in
//     the conversion back, as in thrLua.
//   - Shift counts are taken modulo 64 (what the x86-64 shift instructions
//     do with the C expression a << n); ">>" is an arithmetic shift.
//   - "\" is floor(a / b) on numbers, so division by zero gives inf, -inf
//     or nan rather than an error, exactly like thrLua.
//   - Other operands use the metamethods __and, __or, __xor, __shl, __shr,
//     __not (called with the operand twice), and __intdiv or else __div,
//     looked up on the first operand, then the second. Without one the error
//     is "attempt to perform bitwise operation on a <type> value" (or
//     "arithmetic" for "\"), located at the script's line.
//
// HelperIter is thrLua's "__iter" event (lvm.c, OP_TFORLOOP): it gets the
// explist of a generic for and returns it unchanged (at most three values)
// when the first value is a function or has no "__iter" metamethod that is
// a function; otherwise it returns what __iter(value) returns, called with
// the value alone, as the iterator function, state and initial value.
// Like thrLua, a callable table with __iter is iterated through __iter.
func Helpers() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		HelperAnd:    bitBinary("__and", func(a, b int64) int64 { return a & b }),
		HelperOr:     bitBinary("__or", func(a, b int64) int64 { return a | b }),
		HelperXor:    bitBinary("__xor", func(a, b int64) int64 { return a ^ b }),
		HelperShl:    bitBinary("__shl", func(a, b int64) int64 { return a << (uint64(b) & 63) }),
		HelperShr:    bitBinary("__shr", func(a, b int64) int64 { return a >> (uint64(b) & 63) }),
		HelperNot:    bitNot,
		HelperIntDiv: intDiv,
		HelperMerge:  tableMerge,
		HelperIter:   iterate,
	}
}

// InstallHelpers defines the helpers as globals of L. A translated chunk
// must run with an environment in which these globals are visible.
func InstallHelpers(L *lua.LState) {
	for name, fn := range Helpers() {
		L.SetGlobal(name, L.NewFunction(fn))
	}
}

func bitBinary(event string, op func(a, b int64) int64) lua.LGFunction {
	return func(L *lua.LState) int {
		a, b := L.Get(1), L.Get(2)
		x, okA := toNumber(a)
		y, okB := toNumber(b)
		if okA && okB {
			L.Push(lua.LNumber(op(toInteger(x), toInteger(y))))
			return 1
		}
		return callMeta(L, a, b, okA, "bitwise operation", event)
	}
}

func bitNot(L *lua.LState) int {
	a := L.Get(1)
	if x, ok := toNumber(a); ok {
		L.Push(lua.LNumber(^toInteger(x)))
		return 1
	}
	return callMeta(L, a, a, false, "bitwise operation", "__not")
}

func intDiv(L *lua.LState) int {
	a, b := L.Get(1), L.Get(2)
	x, okA := toNumber(a)
	y, okB := toNumber(b)
	if okA && okB {
		L.Push(lua.LNumber(math.Floor(x / y)))
		return 1
	}
	return callMeta(L, a, b, okA, "arithmetic", "__intdiv", "__div")
}

// callMeta runs the first metamethod found for events on a, then b, or
// raises the error thrLua's luaG_typeerror would.
func callMeta(L *lua.LState, a, b lua.LValue, aIsNumber bool, what string, events ...string) int {
	for _, ev := range events {
		for _, v := range []lua.LValue{a, b} {
			if tm := L.GetMetaField(v, ev); tm != lua.LNil {
				L.Push(tm)
				L.Push(a)
				L.Push(b)
				L.Call(2, 1)
				return 1
			}
		}
	}
	bad := a
	if aIsNumber {
		bad = b
	}
	L.RaiseError("attempt to perform %s on a %s value", what, bad.Type().String())
	return 0
}

// toNumber converts like thrLua's luaV_tonumber.
func toNumber(v lua.LValue) (float64, bool) {
	switch v := v.(type) {
	case lua.LNumber:
		return float64(v), true
	case lua.LString:
		return str2d(string(v))
	}
	return 0, false
}

// str2d follows thrLua's luaO_str2d closely enough for operands: a numeral
// starting with "0" (and not "0.") is read by strtol with base 0, so "010"
// is 8 and "0x10" is 16; anything else by strtod.
func str2d(s string) (float64, bool) {
	t := strings.TrimSpace(s)
	body := strings.TrimPrefix(t, "-")
	if len(body) > 0 && body[0] == '0' && (len(body) == 1 || body[1] != '.') {
		base, digits := 8, body
		if len(body) > 1 && (body[1] == 'x' || body[1] == 'X') {
			base, digits = 16, body[2:]
		}
		u, err := strconv.ParseUint(digits, base, 64)
		if errors.Is(err, strconv.ErrRange) || u > math.MaxInt64 {
			u = math.MaxInt64 // strtol saturates
		} else if err != nil {
			return 0, false
		}
		if len(body) < len(t) {
			return -float64(u), true
		}
		return float64(u), true
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// toInteger is the x86-64 conversion of a double to int64.
func toInteger(f float64) int64 {
	if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return math.MinInt64
	}
	return int64(f)
}

// tableMerge implements HelperMerge. merge(t1, n1) returns a merger m that
// holds t1, whose first n1 integer keys are its positional items. Each
// m(tJ, nJ) copies the keyed fields of tJ into t1, then appends the nJ
// positional items of tJ, and returns m again; a call with a third argument
// (the marker) finishes by appending the arguments after the marker (the
// results of a final call or "...") and returns t1. Where the original
// constructor gave one key twice the later chunk wins; Lua leaves that
// order undefined.
func tableMerge(L *lua.LState) int {
	res := L.CheckTable(1)
	off := L.CheckInt(2)
	var merger *lua.LFunction
	merger = L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		n := L.CheckInt(2)
		t.ForEach(func(key, v lua.LValue) {
			if k, ok := key.(lua.LNumber); ok && k >= 1 && k <= lua.LNumber(n) && k == lua.LNumber(math.Trunc(float64(k))) {
				return // positional, copied below
			}
			res.RawSet(key, v)
		})
		for i := 1; i <= n; i++ {
			if v := t.RawGetInt(i); v != lua.LNil {
				res.RawSetInt(off+i, v)
			}
		}
		off += n
		if L.GetTop() < 3 {
			L.Push(merger)
			return 1
		}
		for idx := 4; idx <= L.GetTop(); idx++ {
			off++
			if v := L.Get(idx); v != lua.LNil {
				res.RawSetInt(off, v)
			}
		}
		L.Push(res)
		return 1
	})
	L.Push(merger)
	return 1
}

// iterate implements HelperIter. It runs once per loop, before the first
// iteration, so a loop costs one Go call more than in plain Lua, whatever
// the number of iterations.
func iterate(L *lua.LState) int {
	n := L.GetTop()
	if n > 3 { // the for statement keeps three values anyway
		L.SetTop(3)
		n = 3
	}
	obj := L.Get(1)
	if _, ok := obj.(*lua.LFunction); ok {
		return n
	}
	// thrLua's luaT_gettmbyobj reads the real metatable, whatever
	// __metatable shows to getmetatable.
	tm, ok := L.GetMetaField(obj, "__iter").(*lua.LFunction)
	if !ok {
		// Unchanged: a callable value is called through __call as
		// before, anything else fails as before.
		return n
	}
	L.SetTop(0)
	L.Push(tm)
	L.Push(obj)
	L.Call(1, 3)
	return 3
}
