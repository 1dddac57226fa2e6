package policy

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// objectMetas are the Runtime's shared metatables of the objects handed
// to scripts. A generation looks them up once: Runtime.Meta takes a lock
// every session and message would otherwise contend for.
type objectMetas struct {
	vctx, accept, message, part, sockaddr *lua.LTable
}

func newObjectMetas(rt *luart.Runtime) objectMetas {
	return objectMetas{
		vctx:     rt.Meta("validate_context", vctxMeta),
		accept:   rt.Meta("accept_construct", acceptMeta),
		message:  rt.Meta("ec_message", messageMeta),
		part:     rt.Meta("msgpart", partMeta),
		sockaddr: rt.Meta("ec_sockaddr", sockaddrMeta),
	}
}

// luaObjects are the per-session userdata handed to callouts.
type luaObjects struct {
	s    *session
	vctx *lua.LUserData
	ac   *lua.LUserData
}

// They are made without a State, with the Runtime's shared metatables,
// so they work in whichever State runs the session's next callout.
func newLuaObjects(s *session) *luaObjects {
	return &luaObjects{s: s,
		vctx: &lua.LUserData{Value: s, Metatable: s.gen.metas.vctx},
		ac:   &lua.LUserData{Value: s, Metatable: s.gen.metas.accept},
	}
}

// message returns msg's userdata, creating it once per message.
func (o *luaObjects) message(m *message) *lua.LUserData {
	if m.ud == nil {
		m.ud = &lua.LUserData{Value: m, Metatable: o.s.gen.metas.message}
	}
	return m.ud
}

// methodMeta builds a metatable whose __index serves methods and,
// through fields, computed attributes.
func methodMeta(L *lua.LState, class string, methods map[string]lua.LGFunction, fields func(L *lua.LState, ud *lua.LUserData, key string) (lua.LValue, bool)) *lua.LTable {
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString(class))
	mtab := L.NewTable()
	for name, fn := range methods {
		mtab.RawSetString(name, L.NewFunction(fn))
	}
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		ud := L.CheckUserData(1)
		key := L.CheckString(2)
		if fields != nil {
			if v, ok := fields(L, ud, key); ok {
				L.Push(v)
				return 1
			}
		}
		L.Push(mtab.RawGetString(key))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString(class))
	return mt
}

// checkSession returns the session behind a vctx or accept userdata.
func checkSession(L *lua.LState, n int, class string) *session {
	ud := L.CheckUserData(n)
	s, ok := ud.Value.(*session)
	if !ok {
		L.ArgError(n, class+" expected")
	}
	return s
}

// dict returns the dictionary selected by VCTX_CONN/VCTX_MESS (or the
// ECMESS_CTX_* constants, which have the same values).
func (s *session) dict(L *lua.LState, n int) map[string]string {
	switch L.CheckInt(n) {
	case dictConn:
		return s.conn
	case dictMess:
		return s.mess
	}
	L.ArgError(n, "context type must be msys.core.VCTX_CONN or msys.core.VCTX_MESS")
	return nil
}

// luaString converts a value the way Momentum stores context values:
// numbers and booleans are stringified.
func luaString(L *lua.LState, n int) string {
	v := L.Get(n)
	switch v.Type() {
	case lua.LTString, lua.LTNumber:
		return lua.LVAsString(v)
	case lua.LTBool:
		if v == lua.LTrue {
			return "true"
		}
		return "false"
	}
	L.ArgError(n, "string expected, got "+v.Type().String())
	return ""
}

// stringList reads a string or a table of strings (1-based, or 0-based
// as Momentum's recipient_list examples index them).
func stringList(L *lua.LState, n int) []string {
	v := L.Get(n)
	switch v := v.(type) {
	case lua.LString:
		return []string{string(v)}
	case *lua.LTable:
		var out []string
		if first := v.RawGetInt(0); first != lua.LNil {
			out = append(out, lua.LVAsString(first))
		}
		for i := 1; ; i++ {
			item := v.RawGetInt(i)
			if item == lua.LNil {
				break
			}
			out = append(out, lua.LVAsString(item))
		}
		return out
	}
	L.ArgError(n, "string or table of strings expected")
	return nil
}
