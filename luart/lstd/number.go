package lstd

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// FormatNumber formats f the way Lua 5.1's tostring does (C "%.14g"):
// 1e+15, 0.1, 9.007199254741e+15, inf, -inf, nan or -nan (NaNs keep their
// sign bit, as glibc prints them), and integers without a decimal point.
func FormatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e14 && (f != 0 || !math.Signbit(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	var b strings.Builder
	sp := spec{prec: 14}
	sp.formatFloat(&b, 'g', f)
	return b.String()
}

// ToNumber converts s with the rules of Lua 5.1's tonumber(s, base).
//
// For base 10 it follows luaO_str2d: C strtod as glibc implements it
// (surrounding white space, decimal with exponent, hexadecimal "0x10" and
// "0x1p4", "inf", "nan"; no octal, so "010" is 10). Other bases in 2..36
// follow strtoul, including its wrap-around of negative values. The string
// ends at its first NUL byte, as it does for the C library. The boolean is
// false when s is not a number in that base or the base is out of range.
//
// The VM's own string-to-number coercion in arithmetic ("010"+0) is still
// gopher-lua's and is not changed by this package.
func ToNumber(s string, base int) (float64, bool) {
	if base == 10 {
		return str2d(s)
	}
	if base < 2 || base > 36 {
		return 0, false
	}
	return strToULong(s, base)
}

// str2d is luaO_str2d.
func str2d(s string) (float64, bool) {
	s = cString(s)
	v, end := strtod(s)
	if end == 0 {
		return 0, false
	}
	if end < len(s) && (s[end] == 'x' || s[end] == 'X') {
		u, e2 := strtoul(s, 16)
		v, end = float64(u), e2
	}
	return v, onlySpaces(s[end:])
}

func strToULong(s string, base int) (float64, bool) {
	s = cString(s)
	u, end := strtoul(s, base)
	if end == 0 {
		return 0, false
	}
	return float64(u), onlySpaces(s[end:])
}

func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func onlySpaces(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isCSpace(s[i]) {
			return false
		}
	}
	return true
}

func skipSpaces(s string, i int) int {
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	return i
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// scanDigits returns the end of a run of digits of the given base.
func scanDigits(s string, i, base int) int {
	for i < len(s) && digitVal(s[i]) < base {
		i++
	}
	return i
}

func hasPrefixFold(s string, i int, word string) bool {
	return len(s)-i >= len(word) && strings.EqualFold(s[i:i+len(word)], word)
}

// strtod parses the longest prefix of s glibc's strtod accepts in the C
// locale. end is the number of bytes used, 0 when there is no number.
func strtod(s string) (v float64, end int) {
	i := skipSpaces(s, 0)
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	switch {
	case hasPrefixFold(s, i, "infinity"):
		v, end = math.Inf(1), i+8
	case hasPrefixFold(s, i, "inf"):
		v, end = math.Inf(1), i+3
	case hasPrefixFold(s, i, "nan"):
		v, end = math.NaN(), i+3
		if end < len(s) && s[end] == '(' {
			j := end + 1
			for j < len(s) && (digitVal(s[j]) < 36 || s[j] == '_') {
				j++
			}
			if j < len(s) && s[j] == ')' {
				end = j + 1
			}
		}
	case hasPrefixFold(s, i, "0x") && hexMantissa(s, i+2):
		v, end = parseHexFloat(s, i+2)
	default:
		j := scanDigits(s, i, 10)
		nd := j - i
		if j < len(s) && s[j] == '.' {
			k := scanDigits(s, j+1, 10)
			nd += k - j - 1
			j = k
		}
		if nd == 0 {
			return 0, 0
		}
		j = scanExponent(s, j, 'e')
		v, _ = strconv.ParseFloat(s[start:j], 64)
		end = j
	}
	if neg {
		v = -v
	}
	return v, end
}

// hexMantissa reports whether a hexadecimal mantissa starts at i.
func hexMantissa(s string, i int) bool {
	if i < len(s) && digitVal(s[i]) < 16 {
		return true
	}
	return i+1 < len(s) && s[i] == '.' && digitVal(s[i+1]) < 16
}

func parseHexFloat(s string, i int) (float64, int) {
	j := scanDigits(s, i, 16)
	mant := s[i:j]
	if j < len(s) && s[j] == '.' {
		k := scanDigits(s, j+1, 16)
		mant += s[j:k]
		j = k
	}
	e := scanExponent(s, j, 'p')
	exp := "p0"
	if e > j {
		exp = s[j:e]
	}
	v, _ := strconv.ParseFloat("0x"+mant+exp, 64)
	return v, e
}

// scanExponent consumes an exponent marker with optional sign and at least
// one digit; otherwise it consumes nothing.
func scanExponent(s string, j int, marker byte) int {
	if j >= len(s) || s[j]|0x20 != marker {
		return j
	}
	k := j + 1
	if k < len(s) && (s[k] == '+' || s[k] == '-') {
		k++
	}
	if d := scanDigits(s, k, 10); d > k {
		return d
	}
	return j
}

// strtoul mirrors glibc's strtoul: sign, "0x" prefix for base 16,
// saturation to ULONG_MAX and negation of negative values.
func strtoul(s string, base int) (uint64, int) {
	i := skipSpaces(s, 0)
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if base == 16 && hasPrefixFold(s, i, "0x") {
		if i+2 < len(s) && digitVal(s[i+2]) < 16 {
			i += 2
		} else {
			return 0, i + 1 // just the "0"; end points at the x
		}
	}
	j := scanDigits(s, i, base)
	if j == i {
		return 0, 0
	}
	var u uint64
	overflow := false
	for k := i; k < j; k++ {
		d := uint64(digitVal(s[k]))
		if u > (math.MaxUint64-d)/uint64(base) {
			overflow = true
		}
		u = u*uint64(base) + d
	}
	if overflow {
		return math.MaxUint64, j
	}
	if neg {
		u = -u
	}
	return u, j
}

func baseToNumber(L *lua.LState) int {
	base := optInt(L, 2, "tonumber", 10)
	if base == 10 {
		v := checkAny(L, 1, "tonumber")
		if f, ok := toNumberValue(v); ok {
			L.Push(lua.LNumber(f))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}
	s := checkString(L, 1, "tonumber")
	if base < 2 || base > 36 {
		argError(L, 2, "tonumber", "base out of range")
	}
	if f, ok := strToULong(s, base); ok {
		L.Push(lua.LNumber(f))
		return 1
	}
	L.Push(lua.LNil)
	return 1
}

// tostringValue is luaB_tostring: a __tostring metafield's result is
// returned unchanged, whatever its type.
func tostringValue(L *lua.LState, v lua.LValue) lua.LValue {
	if mt := L.GetMetaField(v, "__tostring"); mt != lua.LNil {
		L.Push(mt)
		L.Push(v)
		L.Call(1, 1)
		return L.Get(-1)
	}
	switch x := v.(type) {
	case lua.LNumber:
		return lua.LString(FormatNumber(float64(x)))
	case lua.LString:
		return x
	}
	return lua.LString(v.String())
}

func baseToString(L *lua.LState) int {
	v := checkAny(L, 1, "tostring")
	L.Push(tostringValue(L, v))
	return 1
}

// ToStringValue returns what Lua 5.1's print shows for v: numbers as
// FormatNumber does, __tostring honoured. Like print, it raises a Lua error
// when __tostring returns something that is neither a string nor a number.
func ToStringValue(L *lua.LState, v lua.LValue) string {
	top := L.GetTop()
	r := tostringValue(L, v)
	L.SetTop(top)
	if s, ok := toStringValue(r); ok {
		return s
	}
	raise(L, "'tostring' must return a string to 'print'")
	return ""
}

// PrintLine formats the arguments of the running Go function the way
// Lua 5.1's print does, tab separated and without the newline.
func PrintLine(L *lua.LState) string {
	var b strings.Builder
	top := L.GetTop()
	for i := 1; i <= top; i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(ToStringValue(L, L.Get(i)))
	}
	return b.String()
}
