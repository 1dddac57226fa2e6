package lstd

import (
	"fmt"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// tooLarge is the error for results above Limits.MaxStringSize.
func tooLarge(what string, n, limit int) string {
	return fmt.Sprintf("%s result too large (%d bytes; limit %d)", what, n, limit)
}

// CheckSize raises "<what> result too large" in L when a result of n bytes
// would exceed the configured MaxStringSize. Other libraries building
// strings for scripts use it to apply the same limit.
func (lim Limits) CheckSize(L *lua.LState, what string, n int) {
	max := lim.MaxStringSize
	if max <= 0 {
		max = DefaultMaxStringSize
	}
	if n > max || n < 0 {
		raise(L, "%s", tooLarge(what, n, max))
	}
}

func (lim Limits) strRep(L *lua.LState) int {
	s := checkString(L, 1, "rep")
	n := checkInt(L, 2, "rep")
	if n <= 0 || s == "" {
		L.Push(lua.LString(""))
		return 1
	}
	if total := int64(len(s)) * int64(n); total > int64(lim.MaxStringSize) {
		raise(L, "%s", tooLarge("string.rep", int(total), lim.MaxStringSize))
	}
	L.Push(lua.LString(strings.Repeat(s, n)))
	return 1
}

// strLower and strUpper change ASCII letters only, as C's tolower and
// toupper do in the "C" locale; bytes >= 0x80 are left alone.
func strLower(L *lua.LState) int {
	pushMapped(L, mapBytes(checkString(L, 1, "lower"), 'A', 'Z'))
	return 1
}

func strUpper(L *lua.LState) int {
	pushMapped(L, mapBytes(checkString(L, 1, "upper"), 'a', 'z'))
	return 1
}

// pushMapped pushes the result of mapping argument 1. A string the
// mapping left alone (lower of an address, a domain, most header values)
// goes back as the argument's own value: a new LString would be boxed
// into an allocation on every call.
func pushMapped(L *lua.LState, s string) {
	v := L.Get(1)
	if arg, ok := v.(lua.LString); ok && len(arg) == len(s) && unsafe.StringData(string(arg)) == unsafe.StringData(s) {
		L.Push(v)
		return
	}
	L.Push(lua.LString(s))
}

// mapBytes flips the case bit of the ASCII letters in lo..hi.
func mapBytes(s string, lo, hi byte) string {
	i := 0
	for i < len(s) && (s[i] < lo || s[i] > hi) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if b[i] >= lo && b[i] <= hi {
			b[i] ^= 0x20
		}
	}
	return string(b)
}
