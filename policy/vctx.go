package policy

import (
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/callout"
)

// vctxMeta is the metatable of Momentum's validate_context.
func vctxMeta(L *lua.LState) *lua.LTable {
	mt := methodMeta(L, "validate_context", map[string]lua.LGFunction{
		"get":              vctxGet,
		"set":              vctxSet,
		"exists":           vctxExists,
		"set_code":         vctxSetCode,
		"disconnect":       vctxDisconnect,
		"tarpit":           vctxTarpit,
		"add_recipient":    vctxEditRecipients("add_recipient", (*message).AddRecipient),
		"remove_recipient": vctxEditRecipients("remove_recipient", (*message).RemoveRecipient),
		"recipient_list":   vctxRecipientList,
	}, vctxField)
	mt.RawSetString("__newindex", L.NewFunction(vctxSetField))
	return mt
}

func vctxField(L *lua.LState, ud *lua.LUserData, key string) (lua.LValue, bool) {
	s := ud.Value.(*session)
	switch key {
	case "code":
		if s.reply.code == 0 {
			return lua.LNil, true
		}
		return lua.LNumber(s.reply.code), true
	case "note":
		return lua.LString(s.reply.text), true
	}
	return nil, false
}

// vctxSetField supports the training policy's `vctx.disconnect = 1`.
func vctxSetField(L *lua.LState) int {
	s := checkSession(L, 1, "validate_context")
	switch key := L.CheckString(2); key {
	case "disconnect":
		v := L.Get(3)
		s.reply.disconnect = lua.LVAsBool(v) && v != lua.LNumber(0)
	case "code":
		s.reply.code = L.CheckInt(3)
	case "note":
		s.reply.text = L.CheckString(3)
	default:
		L.RaiseError("validate_context has no settable field '%s'", key)
	}
	return 0
}

func vctxGet(L *lua.LState) int {
	s := checkSession(L, 1, "validate_context")
	d := s.dict(L, 2)
	if v, ok := d[L.CheckString(3)]; ok {
		L.Push(lua.LString(v))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

func vctxSet(L *lua.LState) int {
	s := checkSession(L, 1, "validate_context")
	d := s.dict(L, 2)
	key := L.CheckString(3)
	if L.Get(4) == lua.LNil {
		delete(d, key)
		return 0
	}
	d[key] = luaString(L, 4)
	return 0
}

func vctxExists(L *lua.LState) int {
	s := checkSession(L, 1, "validate_context")
	_, ok := s.dict(L, 2)[L.CheckString(3)]
	L.Push(lua.LNumber(boolInt(ok)))
	return 1
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkCode reads an SMTP code given as a number or numeric string.
func checkCode(L *lua.LState, n int) int {
	var code int
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		code = int(v)
	case lua.LString:
		c, err := strconv.Atoi(strings.TrimSpace(string(v)))
		if err != nil {
			L.ArgError(n, "SMTP code expected, got '"+string(v)+"'")
		}
		code = c
	default:
		L.ArgError(n, "SMTP code expected, got "+v.Type().String())
	}
	if code < 200 || code > 599 {
		L.ArgError(n, "SMTP code must be between 200 and 599, got "+strconv.Itoa(code))
	}
	return code
}

func vctxSetCode(L *lua.LState) int {
	s := checkSession(L, 1, "validate_context")
	s.reply.code = checkCode(L, 2)
	s.reply.text = L.OptString(3, "")
	return 0
}

func vctxDisconnect(L *lua.LState) int {
	s := checkSession(L, 1, "validate_context")
	s.reply.code = checkCode(L, 2)
	s.reply.text = L.OptString(3, "")
	s.reply.disconnect = true
	return 0
}

// vctxTarpit records a delay; the session sleeps after the callout has
// returned, so no Lua call is running while it waits.
func vctxTarpit(L *lua.LState) int {
	s := checkSession(L, 1, "validate_context")
	secs := float64(L.CheckNumber(2))
	if secs < 0 || secs > 300 {
		L.ArgError(2, "tarpit seconds must be between 0 and 300")
	}
	s.tarpit += time.Duration(secs * float64(time.Second))
	return 0
}

// msgFor returns the message a recipient method works on, enforcing
// Momentum's phase rules.
func (s *session) msgFor(L *lua.LState, method string, allowRcpt bool) *message {
	if s.msg == nil {
		L.RaiseError("vctx:%s is only valid during a transaction (after MAIL FROM)", method)
	}
	if s.info.Callout == callout.ValidateRcptTo && !allowRcpt {
		L.RaiseError("vctx:%s must not be called in validate_rcptto", method)
	}
	return s.msg
}

// vctxEditRecipients builds add_recipient and remove_recipient: edit is
// applied to each address given (a string or a list), angle brackets
// stripped.
func vctxEditRecipients(method string, edit func(m *message, addr string)) lua.LGFunction {
	return func(L *lua.LState) int {
		s := checkSession(L, 1, "validate_context")
		m := s.msgFor(L, method, true)
		for _, a := range stringList(L, 2) {
			edit(m, strings.Trim(a, "<>"))
		}
		return 0
	}
}

// vctxRecipientList returns the recipients as a table indexed from 0,
// as Momentum's examples iterate it (`for i=0,#t`), or replaces the list.
func vctxRecipientList(L *lua.LState) int {
	s := checkSession(L, 1, "validate_context")
	m := s.msgFor(L, "recipient_list", false)
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		want := stringList(L, 2)
		keep := map[string]bool{}
		for _, a := range want {
			keep[strings.ToLower(strings.Trim(a, "<>"))] = true
		}
		for _, r := range m.Recipients() {
			if !keep[strings.ToLower(r.Addr)] {
				m.RemoveRecipient(r.Addr)
			}
		}
		for _, a := range want {
			m.AddRecipient(strings.Trim(a, "<>"))
		}
		return 0
	}
	rcpts := m.Recipients()
	t := L.CreateTable(len(rcpts), 1) // index 0 lives in the hash part
	for i, r := range rcpts {
		t.RawSetInt(i, lua.LString(r.Addr))
	}
	L.Push(t)
	return 1
}
