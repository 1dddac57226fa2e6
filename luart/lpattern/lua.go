package lpattern

import (
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
	s := lstd.CheckString(L, 1, "find")
	p := lstd.CheckString(L, 2, "find")
	init := clampInt(lstd.OptInteger(L, 3, "find", 1))
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
	s := lstd.CheckString(L, 1, "match")
	p := lstd.CheckString(L, 2, "match")
	init := clampInt(lstd.OptInteger(L, 3, "match", 1))
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
		s := lstd.CheckString(L, 1, fname)
		p := lstd.CheckString(L, 2, fname)
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
	src := lstd.CheckString(L, 1, "gsub")
	p := lstd.CheckString(L, 2, "gsub")
	repl := L.Get(3)
	// luaL_optint: the integer is narrowed to a C int by truncation.
	maxN := int(int32(lstd.OptInteger(L, 4, "gsub", int64(len(src))+1)))
	if maxN < 0 {
		maxN = 0
	}
	var add replaceFunc
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		tmpl := lstd.CheckString(L, 3, "gsub")
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
		lstd.ArgError(L, 3, "gsub", "string/function/table expected")
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
