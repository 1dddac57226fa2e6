package policy

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/callout"
	"github.com/luamilter/luamilter/internal/hdrblock"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/txn"
)

// messageMethods are the ec_message methods; other files add to them
// through messageExtra.
// msgMethod is one ec_message method. readsBody marks the methods that
// see, change or send the body: a generation whose scripts name none of
// them does not ask the MTA for the body (bodyReaders).
type msgMethod struct {
	fn        lua.LGFunction
	readsBody bool
}

var messageMethods = map[string]msgMethod{
	"header":                 {fn: msgHeader},
	"mailfrom":               {fn: msgMailfrom},
	"rcptto":                 {fn: msgRcptto},
	"context_get":            {fn: contextGet("context_get")},
	"context_set":            {fn: msgContextSet},
	"context_exists":         {fn: msgContextExists},
	"context_exists_and_get": {fn: msgContextExistsAndGet},
	"context_delete":         {fn: msgContextDelete},
	"body":                   {fn: msgBody, readsBody: true},
	"raw":                    {fn: msgRaw, readsBody: true},
	"get_message_size":       {fn: msgGetMessageSize, readsBody: true},
	"discard":                {fn: msgDiscard},
	"quarantine":             {fn: msgQuarantine},
	"code":                   {fn: msgCode},
	"listener_addr":          {fn: msgListenerAddr},
	"reception_peer":         {fn: msgReceptionPeer},
	"get_envelope2":          {fn: msgGetEnvelope2},
	"binding":                {fn: msgNotExpressible("binding")},
	"binding_group":          {fn: msgNotExpressible("binding_group")},
	"routing_domain":         {fn: msgNotExpressible("routing_domain")},
	"text":                   {fn: msgText, readsBody: true},
	"body_match":             {fn: matchMethod("body", false), readsBody: true},
	"raw_match":              {fn: matchMethod("raw", false), readsBody: true},
	"text_match":             {fn: matchMethod("text", false), readsBody: true},
	"body_replace":           {fn: replaceMethod("body", false), readsBody: true},
	"raw_replace":            {fn: replaceMethod("raw", false), readsBody: true},
	"text_replace":           {fn: replaceMethod("text", false), readsBody: true},
	"address_header":         {fn: addressHeaderMethod(false)},
	"mime":                   {fn: msgMime, readsBody: true},
	"makePart":               {fn: msgMakePart},
	"makeContainer":          {fn: msgMakeContainer},
	"makeBoundary":           {fn: msgMakeBoundary},
	"build":                  {fn: msgBuild},
	"inject":                 {fn: msgInject, readsBody: true},
	"forward":                {fn: msgForward, readsBody: true},
}

func messageMeta(L *lua.LState) *lua.LTable {
	fns := make(map[string]lua.LGFunction, len(messageMethods))
	for name, m := range messageMethods {
		fns[name] = m.fn
	}
	mt := methodMeta(L, "ec_message", fns, msgField)
	mt.RawSetString("__newindex", L.NewFunction(msgSetField))
	return mt
}

// pESMTP is msys.core.P_ESMTP, the protocol of mail a milter sees: the
// MTA received it over SMTP. msys.core gives P_SMTP the same value.
const pESMTP = 1

func msgField(L *lua.LState, ud *lua.LUserData, key string) (lua.LValue, bool) {
	m := ud.Value.(*message)
	switch key {
	case "id":
		return lua.LString(m.s.messageID()), true
	case "batch_id":
		// Momentum's per-recipient copies share the batch id of the
		// message as received; a milter has that one message only.
		return lua.LString(m.s.messageID()), true
	case "conn_id":
		return lua.LString(strconv.FormatUint(m.s.id, 10)), true
	case "recv_from":
		return sockaddr(m.s, m.s.peer.IP, int(m.s.peer.Port)), true
	case "recv_via":
		// The listener the message came in on, as msg:listener_addr
		// reports it: the MTA's {daemon_addr} and {daemon_port}.
		var ip net.IP
		port := 0
		if mac := m.s.macro; mac != nil {
			ip = net.ParseIP(mac.Get("{daemon_addr}"))
			port, _ = strconv.Atoi(mac.Get("{daemon_port}"))
		}
		return sockaddr(m.s, ip, port), true
	case "recv_method":
		return lua.LNumber(pESMTP), true
	case "priority":
		return lua.LNumber(m.Priority), true
	}
	return nil, false
}

// msgSetField assigns the message's settable fields. msg.priority is a
// one-bit field on Momentum (0 normal, 1 dequeued first); the MTA queues
// the message, so the value is kept for reads and its effect logged once.
func msgSetField(L *lua.LState) int {
	m := checkMessage(L, "priority", false)
	switch key := L.CheckString(2); key {
	case "priority":
		n, ok := L.Get(3).(lua.LNumber)
		if !ok || (n != 0 && n != 1) {
			L.ArgError(3, "msg.priority must be 0 or 1")
		}
		m.Priority = int(n)
		m.s.gen.noopOnce("msg.priority", func() {
			m.s.modLog(m.s.info.Module).Warn("msg.priority has no milter equivalent: the MTA orders its queue; the value is kept for reads",
				"callout", m.s.info.Callout)
		})
	default:
		L.RaiseError("ec_message has no settable field '%s'", key)
	}
	return 0
}

// messageID is a readable id from the MTA's queue id and the session.
func (s *session) messageID() string {
	if s.info.QueueID != "" {
		return fmt.Sprintf("%s/%d.%d", s.info.QueueID, s.id, s.msgCount)
	}
	return fmt.Sprintf("%d.%d", s.id, s.msgCount)
}

// checkMessage returns the message behind arg 1. With needContent the
// call is only valid from validate_data on, as on Momentum.
func checkMessage(L *lua.LState, method string, needContent bool) *message {
	ud := L.CheckUserData(1)
	m, ok := ud.Value.(*message)
	if !ok {
		L.ArgError(1, "ec_message expected")
	}
	if !m.detached && m.s.msg != m {
		L.RaiseError("msg:%s: this message is finished", method)
	}
	if needContent && !m.Content {
		L.RaiseError("msg:%s is not available in %s (only in validate_data and later)", method, m.s.info.Callout)
	}
	return m
}

// msgHeader: header(name) → values; header(name, "") deletes;
// header(name, value|{values}[, mode]) edits. Default mode is replace.
func msgHeader(L *lua.LState) int {
	m := checkMessage(L, "header", true)
	name := L.CheckString(2)
	if !hdrblock.ValidName(name) {
		L.ArgError(2, "invalid header name '"+name+"'")
	}
	if L.GetTop() < 3 {
		L.Push(headerTable(L, m.Headers, name))
		return 1
	}
	values, mode := headerArgs(L)
	m.SetHeader(name, values, mode)
	L.Push(lua.LTrue)
	return 1
}

// headerTable is what header(name) returns for a message or a MIME part:
// the decoded values of the fields named name, in order.
func headerTable(L *lua.LState, hs []txn.Field, name string) *lua.LTable {
	n := 0
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			n++
		}
	}
	t := L.CreateTable(n, 0)
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			t.Append(lua.LString(txn.DecodeHeader(h.Value)))
		}
	}
	return t
}

// headerArgs reads header's value (string, table of strings, "" or nil
// to delete) and mode (replace, the default, append or prepend).
func headerArgs(L *lua.LState) ([]string, string) {
	var values []string
	switch v := L.Get(3).(type) {
	case lua.LString:
		if v != "" {
			values = []string{txn.EncodeHeader(string(v))}
		}
	case lua.LNumber:
		values = []string{txn.EncodeHeader(v.String())}
	case *lua.LTable:
		for i := 1; ; i++ {
			item := v.RawGetInt(i)
			if item == lua.LNil {
				break
			}
			values = append(values, txn.EncodeHeader(lua.LVAsString(item)))
		}
	case *lua.LNilType:
	default:
		L.ArgError(3, "string or table expected")
	}
	name := L.CheckString(2)
	for _, v := range values {
		if n := len(name) + len(v); n > milter.MaxHeaderChange {
			L.ArgError(3, fmt.Sprintf("header field %s of %d bytes is over the milter protocol's limit of %d", name, n, milter.MaxHeaderChange))
		}
	}
	mode := strings.ToLower(L.OptString(4, "replace"))
	if mode != "replace" && mode != "append" && mode != "prepend" {
		L.ArgError(4, "mode must be replace, append or prepend")
	}
	if len(values) == 0 {
		mode = "replace"
	}
	return values, mode
}

func msgMailfrom(L *lua.LState) int {
	m := checkMessage(L, "mailfrom", false)
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		if !m.Content {
			L.RaiseError("msg:mailfrom(addr) can only change the sender from validate_data on")
		}
		addr := strings.Trim(L.CheckString(2), "<>")
		m.NewFrom = &addr
	}
	if m.NewFrom != nil {
		L.Push(lua.LString(*m.NewFrom))
	} else {
		L.Push(lua.LString(m.From))
	}
	return 1
}

// msgRcptto reads the recipient being validated; it can change it only
// in validate_data_spool_each_rcpt or later, where it is one recipient.
func msgRcptto(L *lua.LState) int {
	m := checkMessage(L, "rcptto", false)
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		if m.phase != callout.ValidateDataSpoolEachRcpt && m.phase != callout.ValidateSetBinding {
			L.RaiseError("msg:rcptto(addr) can only change the recipient in validate_data_spool_each_rcpt or later")
		}
		addr := strings.Trim(L.CheckString(2), "<>")
		if !strings.EqualFold(addr, m.Current) {
			m.RemoveRecipient(m.Current)
			m.AddRecipient(addr)
			m.Current = addr
		}
	}
	cur := m.Current
	if cur == "" {
		if r := m.Recipients(); len(r) > 0 {
			cur = r[0].Addr
		}
	}
	L.Push(lua.LString(cur))
	return 1
}

// contextGet implements msg:context_get(scope, key) and, under the name
// given, msys.core.ec_message_context_get(msg, scope, key): the value in
// the connection (VCTX_CONN) or message (VCTX_MESS) dictionary, the same
// ones vctx:get reads, or "" when the key is unset, as Momentum's C
// function returns.
func contextGet(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		m := checkMessage(L, name, false)
		L.Push(lua.LString(m.s.dict(L, 2)[L.CheckString(3)]))
		return 1
	}
}

func msgContextSet(L *lua.LState) int {
	m := checkMessage(L, "context_set", false)
	d := m.s.dict(L, 2)
	d[L.CheckString(3)] = luaString(L, 4)
	return 0
}

func msgContextExists(L *lua.LState) int {
	m := checkMessage(L, "context_exists", false)
	_, ok := m.s.dict(L, 2)[L.CheckString(3)]
	L.Push(lua.LNumber(boolInt(ok)))
	return 1
}

func msgContextExistsAndGet(L *lua.LState) int {
	m := checkMessage(L, "context_exists_and_get", false)
	v, ok := m.s.dict(L, 2)[L.CheckString(3)]
	if !ok {
		L.Push(lua.LNumber(0))
		L.Push(lua.LNil)
		return 2
	}
	L.Push(lua.LNumber(1))
	L.Push(lua.LString(v))
	return 2
}

func msgContextDelete(L *lua.LState) int {
	m := checkMessage(L, "context_delete", false)
	d := m.s.dict(L, 2)
	key := L.CheckString(3)
	_, ok := d[key]
	delete(d, key)
	L.Push(lua.LNumber(boolInt(ok)))
	return 1
}

// msgBody gets the body (without the final dot) or replaces it; the new
// value must end with CRLF.CRLF, as Momentum requires.
func msgBody(L *lua.LState) int {
	m := checkMessage(L, "body", true)
	if L.GetTop() >= 2 {
		v := L.CheckString(2)
		if !strings.HasSuffix(v, "\r\n.\r\n") {
			L.ArgError(2, "the new body must end with \\r\\n.\\r\\n")
		}
		if err := m.SetBody(unstuff(strings.TrimSuffix(v, ".\r\n"))); err != nil {
			L.RaiseError("msg:body: %s", err.Error())
		}
		L.Push(lua.LTrue)
		return 1
	}
	b, err := m.CurrentBody()
	if err != nil {
		L.RaiseError("msg:body: %s", err.Error())
	}
	L.Push(lua.LString(b))
	return 1
}

// unstuff removes SMTP dot-stuffing from lines a script dot-stuffed.
func unstuff(b string) string {
	if strings.HasPrefix(b, "..") {
		b = b[1:]
	}
	if !strings.Contains(b, "\r\n..") {
		return b
	}
	return strings.ReplaceAll(b, "\r\n..", "\r\n.")
}

// msgRaw returns the whole message (headers, blank line, body) and its
// length; with a value it replaces headers and body.
func msgRaw(L *lua.LState) int {
	m := checkMessage(L, "raw", true)
	if L.GetTop() >= 2 {
		if err := m.setRaw(L.CheckString(2)); err != nil {
			L.RaiseError("msg:raw: %s", err.Error())
		}
		L.Push(lua.LTrue)
		return 1
	}
	raw, err := m.raw()
	if err != nil {
		L.RaiseError("msg:raw: %s", err.Error())
	}
	L.Push(lua.LString(raw))
	L.Push(lua.LNumber(len(raw)))
	return 2
}

// raw is the whole message as it stands: header block, blank line, body.
// It costs a copy of the body, unlike msg:body().
func (m *message) raw() (string, error) {
	b, err := m.CurrentBody()
	if err != nil {
		return "", err
	}
	return m.HeaderBlock() + "\r\n" + b, nil
}

// setRaw parses a whole message and replaces headers and body with it.
func (m *message) setRaw(raw string) error {
	if strings.HasSuffix(raw, "\r\n.\r\n") {
		raw = raw[:len(raw)-3]
	}
	// The header block ends where Postfix would end it, were the
	// message sent as it stands: lines that are not fields are body.
	fields, off := hdrblock.Split(raw)
	body := raw[off:]
	hs := make([]txn.Field, len(fields))
	for i, f := range fields {
		hs[i] = txn.Field{Name: f.Name, Value: f.Value, Orig: -1}
	}
	// Tie fields to received ones so the diff stays small: unchanged
	// fields first, then changed values of a field name, in order. The
	// diff can't express reordering; a reordered field becomes a change.
	used := make([]bool, len(m.Orig))
	for pass := 0; pass < 2; pass++ {
		next := 0 // received fields are tied in order
		for i := range hs {
			if hs[i].Orig >= 0 {
				next = hs[i].Orig + 1
				continue
			}
			for j := next; j < len(m.Orig); j++ {
				o := m.Orig[j]
				if !used[j] && strings.EqualFold(o.Name, hs[i].Name) && (pass == 1 || txn.SameValue(o.Value, hs[i].Value)) {
					hs[i].Orig, used[j] = j, true
					next = j + 1
					break
				}
			}
		}
	}
	m.Headers = hs
	return m.SetBody(body)
}

func msgGetMessageSize(L *lua.LState) int {
	m := checkMessage(L, "get_message_size", true)
	if m.BodyOmitted {
		L.RaiseError("%s", errBodyOmitted)
	}
	L.Push(lua.LNumber(m.Size()))
	return 1
}

// msgDiscard drops the message quietly; in the per-recipient phases,
// where each recipient has its own copy, it drops only that recipient.
func msgDiscard(L *lua.LState) int {
	m := checkMessage(L, "discard", false)
	reason := L.OptString(2, milter.DiscardReason)
	if len(reason) < 3 || reason[0] < '2' || reason[0] > '5' {
		reason = milter.InvalidDiscardReason
	}
	m.Discard = true
	m.DiscardReason = reason
	m.s.modLog(m.s.info.Module).Info("message discarded by policy", "reason", reason)
	return 0
}

// msgQuarantine holds the message in the MTA's quarantine (Postfix's hold
// queue). A luamilter extension: Momentum has no milter-style quarantine.
func msgQuarantine(L *lua.LState) int {
	m := checkMessage(L, "quarantine", false)
	m.Quarantine = L.OptString(2, "quarantined by policy")
	return 0
}

func msgCode(L *lua.LState) int {
	m := checkMessage(L, "code", false)
	if L.GetTop() >= 2 {
		code := L.CheckInt(2)
		text := L.OptString(3, "")
		if code == 0 && len(text) >= 3 {
			code, _ = strconv.Atoi(text[:3])
			text = strings.TrimSpace(text[3:])
		}
		m.s.reply.code, m.s.reply.text = code, text
		return 0
	}
	if m.s.reply.code == 0 {
		L.Push(lua.LNil)
	} else {
		L.Push(lua.LString(strconv.Itoa(m.s.reply.code)))
	}
	return 1
}

func addrPart(L *lua.LState, ip, port string) int {
	switch strings.ToLower(L.OptString(2, "all")) {
	case "ip":
		L.Push(lua.LString(ip))
	case "port":
		L.Push(lua.LString(port))
	default:
		L.Push(lua.LString(ip + ":" + port))
	}
	return 1
}

// msgListenerAddr is the MTA's own listening address, from the
// {daemon_addr} and {daemon_port} macros.
func msgListenerAddr(L *lua.LState) int {
	m := checkMessage(L, "listener_addr", false)
	mac := m.s.macro
	if mac == nil {
		return addrPart(L, "", "")
	}
	return addrPart(L, mac.Get("{daemon_addr}"), mac.Get("{daemon_port}"))
}

func msgReceptionPeer(L *lua.LState) int {
	m := checkMessage(L, "reception_peer", false)
	ip := ""
	if m.s.peer.IP != nil {
		ip = m.s.peer.IP.String()
	}
	return addrPart(L, ip, strconv.Itoa(int(m.s.peer.Port)))
}

// msgGetEnvelope2 fills two ec_strings with the local part and domain of
// the sender (EC_MSG_ENV_FROM) or current recipient (EC_MSG_ENV_TO).
func msgGetEnvelope2(L *lua.LState) int {
	m := checkMessage(L, "get_envelope2", false)
	flags := L.CheckInt(2)
	var addr string
	switch {
	case flags&1 != 0 && flags&2 != 0:
		L.ArgError(2, "EC_MSG_ENV_FROM and EC_MSG_ENV_TO can't be combined")
	case flags&1 != 0:
		addr = m.From
		if m.NewFrom != nil {
			addr = *m.NewFrom
		}
	case flags&2 != 0:
		addr = m.Current
	default:
		L.ArgError(2, "flags must include EC_MSG_ENV_FROM or EC_MSG_ENV_TO")
	}
	local, domain := splitAddr(addr)
	for i, v := range []string{local, domain} {
		ud := L.CheckUserData(3 + i)
		s, ok := ud.Value.(interface{ Set(string) })
		if !ok {
			L.ArgError(3+i, "ec_string expected (msys.core.string_new())")
		}
		s.Set(v)
	}
	return 0
}

// notExpressiblePhases are the callouts Momentum allows each method in.
var notExpressiblePhases = map[string][]string{
	"binding":        {callout.ValidateSetBinding},
	"binding_group":  {callout.ValidateSetBinding},
	"routing_domain": {callout.ValidateRcptTo, callout.ValidateDataSpoolEachRcpt, callout.ValidateSetBinding},
}

// msgNotExpressible serves the methods a milter has no equivalent for:
// valid in Momentum's phases, they log and change nothing.
func msgNotExpressible(method string) lua.LGFunction {
	return func(L *lua.LState) int {
		m := checkMessage(L, method, false)
		phases := notExpressiblePhases[method]
		if !slices.Contains(phases, m.s.info.Callout) {
			L.RaiseError("msg:%s is not available in %s (only in %s)", method, m.s.info.Callout, strings.Join(phases, ", "))
		}
		m.s.modLog(m.s.info.Module).Warn("msg:"+method+" has no milter equivalent; ignored", "callout", m.s.info.Callout)
		if method == "binding" || method == "binding_group" {
			L.Push(lua.LString("default"))
			return 1
		}
		if m.Current != "" {
			_, d := splitAddr(m.Current)
			L.Push(lua.LString(strings.ToLower(d)))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}
}
