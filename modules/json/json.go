package json

import (
	"github.com/luamilter/luamilter/luart"
	lua "github.com/yuin/gopher-lua"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxDepth = 64
	DefaultMaxSize  = 8 << 20
)

// Options bound what json.decode and json.encode accept.
type Options struct {
	MaxDepth int // deepest nesting of arrays/objects
	MaxSize  int // longest input to json.decode, in bytes
}

// New returns the json library.
func New(opts Options) luart.Library {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	return luart.Lib("json", func(L *lua.LState, _ *luart.Env) lua.LValue { return open(L, opts) })
}

// kindKey is stored raw in the two metatables so any code, in any state,
// can tell a JSON object or array from a plain table.
const kindKey = "__json"

// null is the Go value behind json.null.
type null struct{}

// state holds the per-Lua-state metatables and the null sentinel.
type state struct {
	opts      Options
	objectMT  *lua.LTable
	arrayMT   *lua.LTable
	nullValue *lua.LUserData
}

// open builds the json table of one Lua state.
func open(L *lua.LState, opts Options) lua.LValue {
	s := &state{opts: opts}
	s.objectMT = s.newMeta(L, "object")
	s.arrayMT = s.newMeta(L, "array")
	s.nullValue = L.NewUserData()
	s.nullValue.Value = null{}
	nullMT := L.NewTable()
	nullMT.RawSetString("__name", lua.LString("json.null"))
	nullMT.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("null"))
		return 1
	}))
	nullMT.RawSetString("__metatable", lua.LFalse)
	s.nullValue.Metatable = nullMT

	t := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"new":      s.luaNew,
		"decode":   s.luaDecode,
		"encode":   s.luaEncode,
		"strerror": luaStrerror,
	})
	t.RawSetString("null", s.nullValue)
	for code, name := range codeNames {
		if name != "" {
			t.RawSetString(name, lua.LNumber(code))
		}
	}
	return t
}

func (s *state) newMeta(L *lua.LState, kind string) *lua.LTable {
	mt := L.NewTable()
	mt.RawSetString(kindKey, lua.LString(kind))
	mt.RawSetString("__name", lua.LString("json."+kind))
	mt.RawSetString("__tostring", L.NewFunction(s.luaToString))
	mt.RawSetString("__concat", L.NewFunction(s.luaConcat))
	if kind == "object" {
		mt.RawSetString("__newindex", L.NewFunction(s.objectNewIndex))
	} else {
		mt.RawSetString("__newindex", L.NewFunction(s.arrayNewIndex))
	}
	return mt
}

func (s *state) luaNew(L *lua.LState) int {
	t := L.NewTable()
	t.Metatable = s.objectMT
	L.Push(t)
	return 1
}

func (s *state) luaToString(L *lua.LState) int {
	out, err := Marshal(L.Get(1), s.opts.MaxDepth)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(lua.LString(out))
	return 1
}

// luaConcat lets obj .. "text" work; the other operand follows Lua's rules.
func (s *state) luaConcat(L *lua.LState) int {
	var parts [2]string
	for i := range parts {
		v := L.Get(i + 1)
		switch v.Type() {
		case lua.LTString, lua.LTNumber:
			parts[i] = v.String()
		default:
			if kindOf(v) == "" {
				L.RaiseError("attempt to concatenate a %s value", v.Type().String())
			}
			out, err := Marshal(v, s.opts.MaxDepth)
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			parts[i] = out
		}
	}
	L.Push(lua.LString(parts[0] + parts[1]))
	return 1
}

func (s *state) objectNewIndex(L *lua.LState) int {
	t, k, v := L.CheckTable(1), L.Get(2), L.Get(3)
	key, err := keyString(k)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	t.RawSetString(key, s.assignable(L, v))
	return 0
}

func (s *state) arrayNewIndex(L *lua.LState) int {
	t, k, v := L.CheckTable(1), L.Get(2), L.Get(3)
	n, ok := k.(lua.LNumber)
	if !ok || float64(n) != float64(int(n)) || n < 1 {
		L.RaiseError("json: array index must be a positive integer, got %s", L.ToStringMeta(k).String())
	}
	t.RawSetInt(int(n), s.assignable(L, v))
	return 0
}

// assignable converts v for storing into a JSON container, raising a Lua
// error for values JSON can not hold. Only a table needs the cycle set,
// so assigning a scalar (the common case) allocates nothing.
func (s *state) assignable(L *lua.LState, v lua.LValue) lua.LValue {
	var seen map[*lua.LTable]bool
	if _, ok := v.(*lua.LTable); ok {
		seen = map[*lua.LTable]bool{}
	}
	out, err := s.fromLua(L, v, 0, seen)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return out
}

// luaEncode implements json.encode; see the package documentation.
func (s *state) luaEncode(L *lua.LState) int {
	v := L.Get(1)
	if _, ok := v.(*lua.LTable); ok {
		L.Push(s.assignable(L, v))
		return 1
	}
	out, err := Marshal(v, s.opts.MaxDepth)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(lua.LString(out))
	return 1
}

func luaStrerror(L *lua.LState) int {
	L.Push(lua.LString(Strerror(L.CheckInt(1))))
	return 1
}
