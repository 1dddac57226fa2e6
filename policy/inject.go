package policy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/txn"
)

// DefaultInjectRelay is where msg:inject and msg:forward submit new mail
// unless Config.InjectRelay says otherwise: the MTA's own SMTP listener
// on this host, so the new message goes through the MTA's queue (and its
// milters) like any other.
const DefaultInjectRelay = "127.0.0.1:25"

// injectHelo is the name given in EHLO to the relay. The relay is the
// local MTA, which knows who connects; a fixed name keeps its logs
// recognisable.
const injectHelo = "luamilter.localhost"

// relayAddr is the relay new messages are submitted to.
func (e *Engine) relayAddr() string {
	if e.cfg.InjectRelay != "" {
		return e.cfg.InjectRelay
	}
	return DefaultInjectRelay
}

// msgInject implements msg:inject([mailfrom[, rcptto]]): it submits the
// message (one built with msg:build, or the message being received, as
// it stands with the scripts' edits) over SMTP to the inject relay. The
// transaction being received is not changed. mailfrom and rcptto
// default to the message's own envelope; rcptto may list several
// addresses separated by ",".
//
// It returns true once the relay accepted the message, or nil and an
// error: a failed submission is the script's to handle and must not
// fail the message being received.
func msgInject(L *lua.LState) int {
	m := checkMessage(L, "inject", false)
	if !m.Content {
		return injectFailed(L, fmt.Errorf("msg:inject is not available in %s (only in validate_data and later, or on a message from msys.core.ec_message_new)", m.s.info.Callout))
	}
	from := m.envelopeFrom()
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		from = L.CheckString(2)
	}
	var to []string
	if L.GetTop() >= 3 && L.Get(3) != lua.LNil {
		to = splitAddrs(L.CheckString(3))
	} else {
		for _, r := range m.Recipients() {
			to = append(to, r.Addr)
		}
	}
	raw, err := m.raw()
	if err != nil {
		return injectFailed(L, fmt.Errorf("msg:inject: %w", err))
	}
	return m.submit(L, "inject", from, to, raw)
}

// msgForward implements msg:forward(sender, rcptto, text[, subject[,
// charset]]): a new message from sender to rcptto whose body is text
// followed by the message being received (as it stands) attached as
// message/rfc822, submitted like msg:inject. Results as msg:inject.
func msgForward(L *lua.LState) int {
	m := checkMessage(L, "forward", false)
	sender, rcptto, text := L.CheckString(2), L.CheckString(3), L.CheckString(4)
	subject, charset := L.OptString(5, ""), L.OptString(6, "")
	if !m.Content {
		return injectFailed(L, fmt.Errorf("msg:forward is not available in %s (the message to attach arrives in validate_data)", m.s.info.Callout))
	}
	fwd, err := m.forwardMessage(sender, rcptto, text, subject, charset)
	if err != nil {
		return injectFailed(L, fmt.Errorf("msg:forward: %w", err))
	}
	raw, err := fwd.raw()
	if err != nil {
		return injectFailed(L, fmt.Errorf("msg:forward: %w", err))
	}
	return m.submit(L, "forward", sender, splitAddrs(rcptto), raw)
}

// submit sends raw from → to through the relay. The SMTP exchange runs
// without the Lua lock, so other sessions' scripts go on meanwhile, and
// ends with the callout's context (its timeout or the session's end).
func (m *message) submit(L *lua.LState, method, from string, to []string, raw string) int {
	from = strings.Trim(strings.TrimSpace(from), "<>")
	if len(to) == 0 {
		return injectFailed(L, fmt.Errorf("msg:%s: no recipient", method))
	}
	relay := m.s.eng.relayAddr()
	ctx := callContext(L)
	// Only Go values cross into the closure: it runs without the Lua
	// lock, while other sessions may be running Lua.
	var err error
	luart.Blocking(L, func() {
		err = sendMail(ctx, relay, from, to, raw)
	})
	log := m.s.modLog(m.s.info.Module).With("callout", m.s.info.Callout, "relay", relay,
		"mailfrom", from, "rcptto", strings.Join(to, ","))
	if err != nil {
		log.Warn("msg:"+method+" failed", "err", err)
		return injectFailed(L, fmt.Errorf("msg:%s: %w", method, err))
	}
	log.Info("msg:" + method + ": message submitted")
	L.Push(lua.LTrue)
	return 1
}

// injectFailed returns nil and the error message to the script.
func injectFailed(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}

// envelopeFrom is the sender of the message's envelope as it stands.
func (m *message) envelopeFrom() string {
	if m.NewFrom != nil {
		return *m.NewFrom
	}
	return m.From
}

// splitAddrs reads Momentum's comma-separated recipient list.
func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.Trim(strings.TrimSpace(a), "<>"); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// sendMail submits raw over SMTP to relay. Every failure names the
// relay, so a relay that is not where the configuration says is plain
// from the error.
func sendMail(ctx context.Context, relay, from string, to []string, raw string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", relay)
	if err != nil {
		return fmt.Errorf("inject relay %s not reachable (setting inject_relay): %w", relay, err)
	}
	defer conn.Close()
	// net/smtp has no context: a deadline bounds each read and write,
	// and closing the connection ends a wait when ctx is cancelled.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(step string, err error) error {
		// textproto quotes the relay's text; show the reply as sent.
		var reply *textproto.Error
		if errors.As(err, &reply) {
			err = fmt.Errorf("%03d %s", reply.Code, reply.Msg)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return fmt.Errorf("inject relay %s: %s: %w", relay, step, err)
	}
	host, _, _ := net.SplitHostPort(relay)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(injectHelo); err != nil {
		return fail("EHLO", err)
	}
	// No STARTTLS: the relay is the MTA's own listener, normally on
	// loopback, and a certificate for 127.0.0.1 would not verify.
	if err := c.Mail(from); err != nil {
		return fail("MAIL FROM:<"+from+">", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fail("RCPT TO:<"+r+">", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write([]byte(raw)); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail("end of data", err)
	}
	// The message is the relay's now; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// forwardMessage builds msg:forward's message: text, then the message
// as it stands attached as message/rfc822.
func (m *message) forwardMessage(sender, rcptto, text, subject, charset string) (*message, error) {
	if !txn.IsASCII(text) && charset == "" {
		return nil, errors.New("text is not ASCII: give its charset")
	}
	if charset == "" {
		charset = "us-ascii"
	}
	orig, err := m.raw()
	if err != nil {
		return nil, err
	}
	f := newMessage(m.s, sender, "")
	f.detached, f.Content = true, true
	f.Body = milter.NewSpool("", 1<<62, 0)
	if subject == "" {
		subject = "Fwd: " + strings.Join(m.HeaderValues("Subject"), " ")
		subject = strings.TrimSpace(txn.DecodeHeader(subject))
	}
	f.SetHeader("From", []string{txn.EncodeHeader(sender)}, "append")
	f.SetHeader("To", []string{txn.EncodeHeader(strings.Join(splitAddrs(rcptto), ", "))}, "append")
	f.SetHeader("Subject", []string{txn.EncodeHeader(subject)}, "append")
	f.SetHeader("Date", []string{" " + time.Now().Format(time.RFC1123Z)}, "append")
	f.SetHeader("MIME-Version", []string{" 1.0"}, "append")
	textCTE := 0 // 7bit
	if !txn.IsASCII(text) {
		textCTE = 4 // quoted-printable
	}
	tp, err := f.NewPart("text/plain; charset="+charset, text, textCTE)
	if err != nil {
		return nil, err
	}
	origCTE := 0
	if !txn.IsASCII(orig) {
		origCTE = 1 // 8bit: message/rfc822 may not be base64 (RFC 2046 5.2.1)
	}
	op, err := f.NewPart("message/rfc822", orig, origCTE)
	if err != nil {
		return nil, err
	}
	mixed, err := f.NewContainer("multipart/mixed", "")
	if err != nil {
		return nil, err
	}
	_ = mixed.Link(tp, 0)
	_ = mixed.Link(op, 1)
	for _, h := range mixed.Headers {
		f.SetHeader(h.Name, []string{h.Value}, "replace")
	}
	var b strings.Builder
	if err := mixed.WriteBody(&b); err != nil {
		return nil, err
	}
	if err := f.SetBody(b.String()); err != nil {
		return nil, err
	}
	return f, nil
}
