package lpattern

import (
	"math"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart/lstd"
)

// Install replaces find, match, gmatch, gsub and gfind in strTable (the
// string library table of L, which is also the __index of the string
// metatable) with this package's implementation bounded by lim.
func Install(L *lua.LState, strTable *lua.LTable, lim Limits) {
	b := binding{lim: lim.withDefaults()}
	strTable.RawSetString("find", L.NewFunction(b.find))
	strTable.RawSetString("match", L.NewFunction(b.match))
	strTable.RawSetString("gmatch", L.NewFunction(b.gmatchFn("gmatch")))
	strTable.RawSetString("gfind", L.NewFunction(b.gmatchFn("gfind")))
	strTable.RawSetString("gsub", L.NewFunction(b.gsub))
}

type binding struct {
	lim Limits
}

// argError raises the message luaL_argerror would.
func argError(L *lua.LState, n int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fname, msg)
}

func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

// checkString is luaL_checklstring: numbers are converted like Lua 5.1
// converts them ("%.14g").
func checkString(L *lua.LState, n int, fname string) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return lstd.FormatNumber(float64(v))
	}
	argError(L, n, fname, "string expected, got "+typeName(L, n))
	return ""
}

// optInteger is luaL_optinteger; a non-integral or out-of-range number is
// converted like the C cast on x86-64 (truncation, or the minimum integer).
func optInteger(L *lua.LState, n int, def int64, fname string) int64 {
	v := L.Get(n)
	if v == lua.LNil {
		return def
	}
	f, ok := toNumber(v)
	if !ok {
		argError(L, n, fname, "number expected, got "+typeName(L, n))
	}
	if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
		return math.MinInt64
	}
	return int64(f)
}

// toNumber is lua_tonumber, with luaO_str2d's rules for strings.
func toNumber(v lua.LValue) (float64, bool) {
	switch v := v.(type) {
	case lua.LNumber:
		return float64(v), true
	case lua.LString:
		return lstd.ToNumber(string(v), 10)
	}
	return 0, false
}

// clampInt narrows a Lua integer to an int offset without overflow.
func clampInt(v int64) int {
	const lim = 1 << 40
	switch {
	case v > lim:
		return lim
	case v < -lim:
		return -lim
	}
	return int(v)
}

func raise(L *lua.LState, err error) {
	L.RaiseError("%s", err.Error())
}

func pushCaptures(L *lua.LState, caps []Capture) int {
	for _, c := range caps {
		L.Push(captureValue(c))
	}
	return len(caps)
}

func captureValue(c Capture) lua.LValue {
	if c.IsPosition() {
		return lua.LNumber(c.Pos)
	}
	return lua.LString(c.Text)
}

func (b binding) find(L *lua.LState) int {
	s := checkString(L, 1, "find")
	p := checkString(L, 2, "find")
	init := clampInt(optInteger(L, 3, 1, "find"))
	start, end, caps, err := Find(s, p, init, lua.LVAsBool(L.Get(4)), b.lim)
	if err != nil {
		raise(L, err)
	}
	if start == 0 {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(start))
	L.Push(lua.LNumber(end))
	return 2 + pushCaptures(L, caps)
}

func (b binding) match(L *lua.LState) int {
	s := checkString(L, 1, "match")
	p := checkString(L, 2, "match")
	init := clampInt(optInteger(L, 3, 1, "match"))
	caps, ok, err := Match(s, p, init, b.lim)
	if err != nil {
		raise(L, err)
	}
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	return pushCaptures(L, caps)
}

func (b binding) gmatchFn(fname string) lua.LGFunction {
	return func(L *lua.LState) int {
		s := checkString(L, 1, fname)
		p := checkString(L, 2, fname)
		it := Gmatch(s, p, b.lim)
		L.Push(L.NewFunction(func(L *lua.LState) int {
			caps, ok, err := it.Next()
			if err != nil {
				raise(L, err)
			}
			if !ok {
				return 0
			}
			return pushCaptures(L, caps)
		}))
		return 1
	}
}

func (b binding) gsub(L *lua.LState) int {
	src := checkString(L, 1, "gsub")
	p := checkString(L, 2, "gsub")
	repl := L.Get(3)
	// luaL_optint: the integer is narrowed to a C int by truncation.
	maxN := int(int32(optInteger(L, 4, int64(len(src))+1, "gsub")))
	if maxN < 0 {
		maxN = 0
	}
	var add replaceFunc
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		tmpl := lua.LVAsString(r)
		if n, ok := r.(lua.LNumber); ok {
			tmpl = lstd.FormatNumber(float64(n))
		}
		add = func(m *matcher, s, e int, out *output) error {
			return addTemplate(m, s, e, tmpl, out)
		}
	case *lua.LTable:
		add = func(m *matcher, s, e int, out *output) error {
			c, err := m.captureAt(0, s, e)
			if err != nil {
				return err
			}
			return addValue(L.GetTable(r, captureValue(c)), m.src[s:e], out)
		}
	case *lua.LFunction:
		add = func(m *matcher, s, e int, out *output) error {
			caps, err := m.captures(s, e, true)
			if err != nil {
				return err
			}
			L.Push(r)
			L.Call(pushCaptures(L, caps), 1)
			v := L.Get(-1)
			L.Pop(1)
			return addValue(v, m.src[s:e], out)
		}
	default:
		argError(L, 3, "gsub", "string/function/table expected")
	}
	res, n, err := gsub(src, p, maxN, b.lim, add)
	if err != nil {
		raise(L, err)
	}
	L.Push(lua.LString(res))
	L.Push(lua.LNumber(n))
	return 2
}

// addValue appends a table or function result as add_value does: nil and
// false keep the original text, strings and numbers replace it.
func addValue(v lua.LValue, orig string, out *output) error {
	switch v := v.(type) {
	case *lua.LNilType:
		return out.add(orig)
	case lua.LBool:
		if !bool(v) {
			return out.add(orig)
		}
	case lua.LString:
		return out.add(string(v))
	case lua.LNumber:
		return out.add(lstd.FormatNumber(float64(v)))
	}
	return &Error{Msg: "invalid replacement value (a " + v.Type().String() + ")"}
}
