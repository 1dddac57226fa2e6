package lstd

import (
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The helpers below mirror lauxlib's luaL_check*/luaL_opt* so that argument
// errors read exactly like Lua 5.1's ("bad argument #2 to 'format' (number
// expected, got nil)"), including its string<->number coercions.

func raise(L *lua.LState, format string, args ...any) {
	L.RaiseError("%s", fmt.Sprintf(format, args...))
}

func typeNameAt(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

func argError(L *lua.LState, n int, fname, msg string) {
	raise(L, "bad argument #%d to '%s' (%s)", n, fname, msg)
}

// ArgError is luaL_argerror for other Go libraries of Lua 5.1 functions:
// it raises "bad argument #n to 'fname' (msg)".
func ArgError(L *lua.LState, n int, fname, msg string) { argError(L, n, fname, msg) }

// CheckString is luaL_checkstring for other Go libraries: argument n must
// be a string or a number, which is converted as Lua 5.1 does ("%.14g").
func CheckString(L *lua.LState, n int, fname string) string { return checkString(L, n, fname) }

// OptInteger is luaL_optinteger for other Go libraries: def when argument
// n is absent or nil, otherwise a number (or numeric string) converted
// like the C cast to long (truncation; NaN and out-of-range values give
// the minimum integer).
func OptInteger(L *lua.LState, n int, fname string, def int64) int64 {
	return optInteger(L, n, fname, def)
}

func typeError(L *lua.LState, n int, fname, expected string) {
	argError(L, n, fname, expected+" expected, got "+typeNameAt(L, n))
}

func isNoneOrNil(L *lua.LState, n int) bool {
	return n > L.GetTop() || L.Get(n) == lua.LNil
}

// toNumberValue is lua_tonumber: numbers and numeric strings convert.
func toNumberValue(v lua.LValue) (float64, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x), true
	case lua.LString:
		return str2d(string(x))
	}
	return 0, false
}

// toStringValue is lua_tolstring: strings and numbers convert.
func toStringValue(v lua.LValue) (string, bool) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return FormatNumber(float64(x)), true
	}
	return "", false
}

func checkNumber(L *lua.LState, n int, fname string) float64 {
	if n <= L.GetTop() {
		if f, ok := toNumberValue(L.Get(n)); ok {
			return f
		}
	}
	typeError(L, n, fname, "number")
	return 0
}

func optNumber(L *lua.LState, n int, fname string, def float64) float64 {
	if isNoneOrNil(L, n) {
		return def
	}
	return checkNumber(L, n, fname)
}

// cInt converts like a C (int) cast on amd64: truncation, and INT_MIN for
// NaN and out-of-range values (the cvttsd2si "integer indefinite" result).
func cInt(f float64) int32 {
	if f != f || f >= 2147483648 || f <= -2147483649 {
		return math.MinInt32
	}
	return int32(f)
}

// cLong converts like a C (long) cast on amd64.
func cLong(f float64) int64 {
	if f != f || f >= 9223372036854775808 || f < -9223372036854775808 {
		return math.MinInt64
	}
	return int64(f)
}

// cULong converts like a C (unsigned long) cast as gcc compiles it for
// amd64: values from 2^63 up are converted after subtracting 2^63.
func cULong(f float64) uint64 {
	if f >= 9223372036854775808 {
		return uint64(cLong(f-9223372036854775808)) ^ (1 << 63)
	}
	return uint64(cLong(f))
}

// checkInt is luaL_checkint, (int)luaL_checkinteger: the number goes to a
// C long first and is then truncated to 32 bits, so NaN and 2^53 give 0.
func checkInt(L *lua.LState, n int, fname string) int {
	return int(int32(cLong(checkNumber(L, n, fname))))
}

func optInt(L *lua.LState, n int, fname string, def int) int {
	if isNoneOrNil(L, n) {
		return def
	}
	return checkInt(L, n, fname)
}

func checkString(L *lua.LState, n int, fname string) string {
	if n <= L.GetTop() {
		if s, ok := toStringValue(L.Get(n)); ok {
			return s
		}
	}
	typeError(L, n, fname, "string")
	return ""
}

func optString(L *lua.LState, n int, fname, def string) string {
	if isNoneOrNil(L, n) {
		return def
	}
	return checkString(L, n, fname)
}

func checkTable(L *lua.LState, n int, fname string) *lua.LTable {
	if n <= L.GetTop() {
		if tb, ok := L.Get(n).(*lua.LTable); ok {
			return tb
		}
	}
	typeError(L, n, fname, "table")
	return nil
}

func checkAny(L *lua.LState, n int, fname string) lua.LValue {
	if n > L.GetTop() {
		argError(L, n, fname, "value expected")
	}
	return L.Get(n)
}

// cString returns s up to its first NUL byte, which is what C functions
// receiving a Lua string as char* see.
func cString(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i]
		}
	}
	return s
}
