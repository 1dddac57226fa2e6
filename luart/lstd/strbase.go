package lstd

import (
	lua "github.com/yuin/gopher-lua"
)

// posrelat is Lua 5.1's relative string position: negative counts back
// from the end, and anything before the start becomes 0.
func posrelat(pos int64, l int) int64 {
	if pos < 0 {
		pos += int64(l) + 1
	}
	return max(pos, 0)
}

func checkInteger(L *lua.LState, n int, fname string) int64 {
	return cLong(checkNumber(L, n, fname))
}

func optInteger(L *lua.LState, n int, fname string, def int64) int64 {
	if isNoneOrNil(L, n) {
		return def
	}
	return checkInteger(L, n, fname)
}

func strSub(L *lua.LState) int {
	s := checkString(L, 1, "sub")
	start := posrelat(checkInteger(L, 2, "sub"), len(s))
	end := posrelat(optInteger(L, 3, "sub", -1), len(s))
	start = max(start, 1)
	end = min(end, int64(len(s)))
	if start > end {
		L.Push(lua.LString(""))
		return 1
	}
	L.Push(lua.LString(s[start-1 : end]))
	return 1
}

func strByte(L *lua.LState) int {
	s := checkString(L, 1, "byte")
	posi := posrelat(optInteger(L, 2, "byte", 1), len(s))
	pose := posrelat(optInteger(L, 3, "byte", posi), len(s))
	posi = max(posi, 1)
	pose = min(pose, int64(len(s)))
	if posi > pose {
		return 0
	}
	n := pose - posi + 1
	if n+int64(L.GetTop()) > maxCStack {
		raise(L, "stack overflow (string slice too long)")
	}
	for i := posi - 1; i < pose; i++ {
		L.Push(lua.LNumber(s[i]))
	}
	return int(n)
}

func strChar(L *lua.LState) int {
	top := L.GetTop()
	b := make([]byte, top)
	for i := 1; i <= top; i++ {
		c := checkInt(L, i, "char")
		if c < 0 || c > 255 {
			argError(L, i, "char", "invalid value")
		}
		b[i-1] = byte(c)
	}
	L.Push(lua.LString(b))
	return 1
}

func strLen(L *lua.LState) int {
	L.Push(lua.LNumber(len(checkString(L, 1, "len"))))
	return 1
}

func strReverse(L *lua.LState) int {
	s := checkString(L, 1, "reverse")
	b := make([]byte, len(s))
	for i := range b {
		b[i] = s[len(s)-1-i]
	}
	L.Push(lua.LString(b))
	return 1
}

// baseSelect is Lua 5.1's select: a string starting with '#' counts.
func baseSelect(L *lua.LState) int {
	n := L.GetTop()
	if s, ok := L.Get(1).(lua.LString); ok && n >= 1 && len(s) > 0 && s[0] == '#' {
		L.Push(lua.LNumber(n - 1))
		return 1
	}
	i := checkInt(L, 1, "select")
	if i < 0 {
		i = n + i
	} else if i > n {
		i = n
	}
	if i < 1 {
		argError(L, 1, "select", "index out of range")
	}
	return n - i
}

// baseError is Lua 5.1's error: the value may be omitted (nil is raised)
// and numbers get the position prefix like strings.
func baseError(L *lua.LState) int {
	level := optInt(L, 2, "error", 1)
	v := L.Get(1)
	if n, ok := v.(lua.LNumber); ok {
		v = lua.LString(FormatNumber(float64(n)))
	}
	L.Error(v, level)
	return 0
}
