package policy

import (
	"net"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// acceptMeta is the metatable of Momentum's accept_construct.
func acceptMeta(L *lua.LState) *lua.LTable {
	return methodMeta(L, "accept_construct", map[string]lua.LGFunction{
		"inbound_session_count":   acInboundSessionCount,
		"esmtp_capability_add":    acCapabilityEdit,
		"esmtp_capability_remove": acCapabilityEdit,
	}, acField)
}

func acField(L *lua.LState, ud *lua.LUserData, key string) (lua.LValue, bool) {
	s := ud.Value.(*session)
	switch key {
	case "remote_addr":
		return sockaddr(s, s.peer.IP, int(s.peer.Port)), true
	case "protocol":
		return lua.LNumber(1), true // P_ESMTP
	case "conn_id":
		return lua.LString(strconv.FormatUint(s.id, 10)), true
	case "remote_ip": // convenience used by luamilter's libraries
		if s.peer.IP == nil {
			return lua.LNil, true
		}
		return lua.LString(s.peer.IP.String()), true
	}
	if strings.HasPrefix(key, "pbp_") {
		// Momentum's msys.pbp adds these methods to accept_construct; a
		// call names the library instead of "attempt to call a nil value".
		return L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("ac:%s comes with msys.pbp, which luamilter does not provide", key)
			return 0
		}), true
	}
	return nil, false
}

// sockaddr is an address object whose tostring is "ip:port". IPv6 is
// written without brackets so the samples' `(.*):%d` idiom still finds
// the address.
func sockaddr(s *session, ip net.IP, port int) *lua.LUserData {
	return &lua.LUserData{Value: &net.TCPAddr{IP: ip, Port: port},
		Metatable: s.gen.metas.sockaddr}
}

func sockaddrMeta(L *lua.LState) *lua.LTable {
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__name", lua.LString("ec_sockaddr"))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		a, ok := L.CheckUserData(1).Value.(*net.TCPAddr)
		if !ok {
			L.ArgError(1, "ec_sockaddr expected")
		}
		ipStr := "unknown"
		if a.IP != nil {
			ipStr = a.IP.String()
		}
		L.Push(lua.LString(ipStr + ":" + strconv.Itoa(a.Port)))
		return 1
	}))
	return mt
}

// acInboundSessionCount counts live sessions from the peer's network
// ("/24", "/32", "addr/mask" or "addr"; default the peer itself).
func acInboundSessionCount(L *lua.LState) int {
	s := checkSession(L, 1, "accept_construct")
	spec := L.OptString(2, "/32")
	if service := L.OptString(3, "SMTP"); service != "SMTP" {
		L.Push(lua.LNumber(0))
		return 1
	}
	n, err := s.eng.countSessions(s.peer.IP, spec)
	if err != nil {
		L.ArgError(2, err.Error())
	}
	L.Push(lua.LNumber(n))
	return 1
}

// acCapabilityEdit accepts EHLO capability edits and logs that a milter
// can't make them: the MTA has already sent its EHLO reply.
func acCapabilityEdit(L *lua.LState) int {
	s := checkSession(L, 1, "accept_construct")
	s.modLog(s.info.Module).Warn("EHLO capability edits can't be made through a milter; ignored", "capability", L.OptString(2, ""))
	return 0
}

// CoreLibrary returns the luart.Library that adds the msys.core functions
// working on luamilter's objects (accept_construct_get_message_construct,
// ec_sockaddr_family, ec_message_new, ec_message_context_get/set), the
// binding lookups (config_get_binding_*) and msys.expandMacro.
func CoreLibrary() luart.Library {
	macros := newMacroExpander()
	return luart.Lib("msys.core", func(L *lua.LState, env *luart.Env) lua.LValue {
		return openCore(L, env, macros, processBindings)
	})
}

// openCore builds CoreLibrary's table for one state. macros and b outlive
// the states, so what they warn about is warned once, not once per state.
func openCore(L *lua.LState, env *luart.Env, macros *macroExpander, b *bindings) lua.LValue {
	if msys, ok := L.GetGlobal("msys").(*lua.LTable); ok {
		msys.RawSetString("expandMacro", L.NewFunction(macros.function(env.Log)))
	}
	t := L.NewTable()
	t.RawSetString("ec_message_new", L.NewFunction(ecMessageNew))
	t.RawSetString("ec_message_context_get", L.NewFunction(contextGet("ec_message_context_get")))
	t.RawSetString("ec_message_context_set", L.NewFunction(coreContextSet))
	b.register(L, t, env.Log)
	t.RawSetString("accept_construct_get_message_construct", L.NewFunction(func(L *lua.LState) int {
		s := checkSession(L, 1, "accept_construct")
		mc := L.CreateTable(0, 2)
		mc.RawSetString("ctx", s.objs.vctx)
		if s.msg != nil {
			mc.RawSetString("message", s.objs.message(s.msg))
		}
		L.Push(mc)
		return 1
	}))
	t.RawSetString("ec_sockaddr_family", L.NewFunction(func(L *lua.LState) int {
		ud := L.CheckUserData(1)
		a, ok := ud.Value.(*net.TCPAddr)
		if !ok {
			L.ArgError(1, "ec_sockaddr expected")
		}
		if a.IP != nil && a.IP.To4() == nil {
			L.Push(lua.LNumber(10))
		} else {
			L.Push(lua.LNumber(2))
		}
		return 1
	}))
	return t
}
