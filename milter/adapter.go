package milter

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"

	gomilter "github.com/d--j/go-milter"
	"github.com/d--j/go-milter/milterutil"
)

// adapter is go-milter's Milter for one connection: it buffers the message
// and forwards each stage to the Backend's Session.
type adapter struct {
	srv     *Server
	sess    Session
	ctx     context.Context // the server's: see newAdapter
	log     *slog.Logger
	slot    bool
	id      uint64   // the session in srv.sessions; valid while slot
	refused *Verdict // set when the session could not start
	headers []Header
	spool   *Spool
	tooBig  bool
	spoolEr error
	// headerBytes counts the header block as received, toward
	// MaxMessageSize: header fields are message bytes too.
	headerBytes int64
	leadSp      bool // MTA sends/expects the space after the header colon
	noBody      bool // the body was negotiated away
	// msg is what EndOfMessage hands the session, reused: the session
	// may use it only until EndOfMessage returns (see Message).
	msg Message
}

func newAdapter(s *Server) *adapter {
	// Sessions get the server's context, not one of their own: a session
	// calls its Backend synchronously, so nothing of it runs after Close
	// that a context of its own could stop, and the server's ends exactly
	// when running calls must stop. One shared Done channel also lets code
	// that watches it for cancellation keep one registration for many
	// sessions instead of one per call.
	return &adapter{srv: s, ctx: s.ctx}
}

// NewConnection starts a session. go-milter calls it once after
// negotiation and again on the same adapter for each SMFIC_QUIT_NC, when
// the MTA reuses the connection for a new SMTP session: the previous
// session ends then and the slot passes to the new one.
func (a *adapter) NewConnection(m gomilter.Modifier) error {
	a.endSession()
	id := m.MilterId()
	a.log = a.srv.cfg.Log.With("session", id)
	a.leadSp = m.Protocol()&gomilter.OptHeaderLeadingSpace != 0
	a.noBody = m.Protocol()&gomilter.OptNoBody != 0
	if !a.slot {
		if !a.srv.acquire() {
			v := a.srv.cfg.BusyVerdict
			a.refused = &v
			a.log.Warn("session refused: too many concurrent sessions", "max_sessions", a.srv.cfg.MaxSessions, "reply", v.String())
			return nil
		}
		a.slot = true
		a.srv.wg.Add(1)
	} else {
		a.srv.sessions.close(a.id) // QUIT_NC: the slot passes to the new session
	}
	a.id = id
	a.srv.sessions.open(id)
	a.srv.total.Add(1)
	offered := Actions(m.Actions()) & AllActions
	a.noteOffer(offered)
	sess, err := a.srv.cfg.Backend.NewSession(a.ctx, SessionInfo{ID: id, Actions: offered})
	if err != nil {
		v := EngineUnavailableReply()
		a.log.Error("session could not start", "err", err, "reply", v.String())
		a.refused = &v
		return nil
	}
	a.sess = sess
	if stale := staleNegotiation(m.Protocol(), a.srv.cfg.Needs()); stale != 0 {
		a.log.Warn("scripts were reloaded while this connection negotiated; it lacks events or replies the new scripts use",
			"missing", fmt.Sprintf("%#x", uint32(stale)))
	}
	return nil
}

func (a *adapter) Connect(host, family string, port uint16, addr string, m gomilter.Modifier) (*gomilter.Response, error) {
	if addr != "" {
		// Session log lines carry the client from here on.
		a.log = a.log.With("client", addr)
	}
	if a.refused != nil {
		return a.respond(*a.refused)
	}
	c := Conn{Host: host, Family: family, Port: port, IP: net.ParseIP(addr)}
	a.srv.sessions.connected(a.id, c.IP)
	return a.respond(a.guard(StageConnect, func() Verdict { return a.sess.Connect(a.ctx, c, m) }))
}

func (a *adapter) Helo(name string, m gomilter.Modifier) (*gomilter.Response, error) {
	if a.refused != nil {
		return a.respond(*a.refused)
	}
	return a.respond(a.guard(StageHelo, func() Verdict { return a.sess.Helo(a.ctx, name, m) }))
}

func (a *adapter) MailFrom(from, args string, m gomilter.Modifier) (*gomilter.Response, error) {
	if a.refused != nil {
		return a.respond(*a.refused)
	}
	a.resetMessage()
	return a.respond(a.guard(StageMail, func() Verdict { return a.sess.MailFrom(a.ctx, gomilter.RemoveAngle(from), args, m) }))
}

func (a *adapter) RcptTo(rcpt, args string, m gomilter.Modifier) (*gomilter.Response, error) {
	if a.refused != nil {
		return a.respond(*a.refused)
	}
	return a.respond(a.guard(StageRcpt, func() Verdict { return a.sess.RcptTo(a.ctx, gomilter.RemoveAngle(rcpt), args, m) }))
}

func (a *adapter) Data(m gomilter.Modifier) (*gomilter.Response, error) {
	if a.refused != nil {
		return a.respond(*a.refused)
	}
	return a.respond(a.guard(StageData, func() Verdict { return a.sess.Data(a.ctx, m) }))
}

// headerFieldCost is about what keeping one header field costs besides
// its bytes (the Header here, the model's Field at end of message, their
// string headers), counted against the size limit so that memory, not
// only the wire, stays within it.
const headerFieldCost = 96

func (a *adapter) Header(name, value string, _ gomilter.Modifier) (*gomilter.Response, error) {
	if a.tooBig {
		return gomilter.RespContinue, nil
	}
	a.headerBytes += int64(len(name) + len(value) + len(":\r\n"))
	// Kept, a field costs more than its bytes on the wire: a flood of
	// tiny fields must not hold many times the size limit in memory.
	kept := a.headerBytes + int64(len(a.headers)+1)*headerFieldCost
	if max := a.srv.cfg.MaxMessageSize; max > 0 && (a.headerBytes > max || kept > max) {
		a.tooBig = true
		a.headers = a.headers[:0]
		return gomilter.RespContinue, nil
	}
	if !a.leadSp {
		value = " " + value
	}
	if a.headers == nil {
		// Room for a usual header block at once instead of growing
		// through five smaller arrays; the array serves every message
		// of the connection.
		a.headers = make([]Header, 0, 32)
	}
	a.headers = append(a.headers, Header{Name: name, Value: value})
	return gomilter.RespContinue, nil
}

func (a *adapter) Headers(gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (a *adapter) BodyChunk(chunk []byte, _ gomilter.Modifier) (*gomilter.Response, error) {
	if a.tooBig || a.spoolEr != nil {
		return gomilter.RespContinue, nil
	}
	if a.spool == nil {
		a.spool = a.newSpool()
	}
	if max := a.srv.cfg.MaxMessageSize; max > 0 && a.headerBytes+a.spool.Size()+int64(len(chunk)) > max {
		a.tooBig = true
		a.spool.Close()
		return gomilter.RespContinue, nil
	}
	// go-milter reads every packet into a new buffer and does not touch
	// it after BodyChunk returns, so the chunk is kept without a copy
	// (TestBodyChunksKeptWithoutCopy guards this).
	if err := a.spool.Adopt(chunk); err != nil {
		a.spoolEr = err
		a.spool.Close()
	}
	return gomilter.RespContinue, nil
}

// newSpool has no size limit of its own: BodyChunk checks MaxMessageSize
// against the header block and the body together.
func (a *adapter) newSpool() *Spool {
	return NewSpool(a.srv.cfg.SpoolDir, a.srv.cfg.SpoolThreshold, 0)
}

func (a *adapter) EndOfMessage(m gomilter.Modifier) (*gomilter.Response, error) {
	if a.refused != nil {
		return a.respond(*a.refused)
	}
	defer a.resetMessage()
	switch {
	case a.tooBig:
		a.log.Warn("message over the maximum size", "max_message_size", a.srv.cfg.MaxMessageSize, "queue_id", m.Get("i"))
		a.abortSession(m)
		return a.respond(a.srv.cfg.OversizeVerdict)
	case a.spoolEr != nil:
		a.log.Error("message could not be buffered", "err", a.spoolEr, "queue_id", m.Get("i"))
		a.abortSession(m)
		return a.respond(BufferFailedReply())
	}
	if a.spool == nil {
		a.spool = a.newSpool()
	}
	var res Result
	res.Verdict = a.guard(StageEOM, func() Verdict {
		a.msg = Message{Headers: a.headers, Body: a.spool, BodyOmitted: a.noBody}
		res = a.sess.EndOfMessage(a.ctx, &a.msg, m)
		return res.Verdict
	})
	if res.Verdict.Action == Continue || res.Verdict.Action == Accept {
		if err := a.apply(res.Changes, m); err != nil {
			// A change the MTA can't take (go-milter refuses a packet
			// over 64 KiB) must not cost the reply: without one the
			// MTA would wait for its timeout. The changes already sent
			// are dropped with the message.
			a.log.Error("the policy's changes could not be sent; the message is tempfailed", "err", err, "queue_id", m.Get("i"))
			return a.respond(ChangesFailedReply())
		}
	} else if len(res.Changes) > 0 {
		a.log.Debug("changes dropped: message is not accepted", "verdict", res.Verdict.String())
	}
	v := res.Verdict
	if v.Action == Continue {
		v.Action = Accept
	}
	return a.respond(v)
}

// apply sends the changes to the MTA in order. Header changes come first
// and the body last, as Postfix does not allow them interleaved.
func (a *adapter) apply(changes []Change, m gomilter.Modifier) error {
	for _, c := range changes {
		var err error
		switch c.Kind {
		case AddHeader:
			err = m.AddHeader(c.Name, a.outValue(c.Value))
		case InsertHeader:
			err = m.InsertHeader(c.Index, c.Name, a.outValue(c.Value))
		case ChangeHeader:
			v := c.Value
			if v != "" {
				v = a.outValue(v)
			}
			err = m.ChangeHeader(c.Index, c.Name, v)
		case AddRcpt:
			err = m.AddRecipient(c.Addr, c.Args)
		case DelRcpt:
			err = m.DeleteRecipient(c.Addr)
		case ChangeFrom:
			err = m.ChangeFrom(c.Addr, c.Args)
		case Quarantine:
			err = m.Quarantine(c.Reason)
		case ReplaceBody:
			err = a.replaceBody(c, m)
		}
		if err != nil {
			return fmt.Errorf("apply %s: %w", c.Kind, err)
		}
	}
	return nil
}

func (a *adapter) replaceBody(c Change, m gomilter.Modifier) error {
	rc, err := c.Body()
	if err != nil {
		return err
	}
	defer rc.Close()
	return m.ReplaceBody(rc)
}

// outValue adapts a raw header value ("after the colon") to what the MTA
// expects: with SMFIP_HDR_LEADSPC it takes the value as is, otherwise it
// adds the space itself.
func (a *adapter) outValue(v string) string {
	if a.leadSp {
		if v == "" || (v[0] != ' ' && v[0] != '\t') {
			return " " + v
		}
		return v
	}
	return strings.TrimPrefix(v, " ")
}

func (a *adapter) Abort(m gomilter.Modifier) error {
	a.resetMessage()
	if a.sess != nil {
		a.abortSession(m)
	}
	return nil
}

// abortSession ends the session's current message, guarded like a stage.
func (a *adapter) abortSession(m gomilter.Modifier) {
	a.guard(StageAbort, func() Verdict { a.sess.Abort(a.ctx, m); return Verdict{} })
}

func (a *adapter) Unknown(string, gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (a *adapter) Cleanup(gomilter.Modifier) {
	a.endSession()
	if a.slot {
		a.slot = false
		a.srv.sessions.close(a.id)
		a.srv.release()
		a.srv.wg.Done()
	}
}

// endSession closes the current session, if any; the slot stays.
func (a *adapter) endSession() {
	a.resetMessage()
	if a.sess != nil {
		a.guard(StageClose, func() Verdict { a.sess.Close(a.ctx); return Verdict{} })
		a.sess = nil
	}
	a.refused = nil
}

func (a *adapter) resetMessage() {
	// The header array and the Spool serve the connection's next
	// message: the message handed to the session is gone by then (it
	// is valid only until EndOfMessage returns).
	a.headers = a.headers[:0]
	a.msg = Message{}
	if a.spool != nil {
		a.spool.Reset()
	}
	a.tooBig = false
	a.spoolEr = nil
	a.headerBytes = 0
}

// respond turns a Verdict into go-milter's Response.
func (a *adapter) respond(v Verdict) (*gomilter.Response, error) {
	switch v.Action {
	case Continue:
		return gomilter.RespContinue, nil
	case Accept:
		return gomilter.RespAccept, nil
	case Discard:
		return gomilter.RespDiscard, nil
	}
	if v.Code == 0 {
		if v.Action == Reject {
			return gomilter.RespReject, nil
		}
		return gomilter.RespTempFail, nil
	}
	resp, err := gomilter.RejectWithCodeAndReason(uint16(v.Code), singleEnhancedCode(v.Code, v.Text))
	if err != nil {
		a.log.Error("reply can't be sent as written; using a generic one", "code", v.Code, "err", err)
		if v.Action == Reject {
			return gomilter.RespReject, nil
		}
		return gomilter.RespTempFail, nil
	}
	return resp, nil
}

// singleEnhancedCode drops enhanced status codes that a multi-line text
// repeats at the start of its later lines. go-milter copies the first
// line's code onto every line itself, so a script that wrote it on each
// line, as RFC 2034 replies look, would otherwise show it twice.
func singleEnhancedCode(code int, text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) < 2 || milterutil.FindEnhancedErrorCodeEnd([]byte(lines[0]), uint16(code)) < 0 {
		return text
	}
	for i := 1; i < len(lines); i++ {
		if n := milterutil.FindEnhancedErrorCodeEnd([]byte(lines[i]), uint16(code)); n > 0 {
			lines[i] = lines[i][n:]
		}
	}
	return strings.Join(lines, "\n")
}

// guard runs one stage of the session and turns a Go panic in it into a
// tempfail for this command and every later one of the session: a bug in
// luamilter must cost a retry, never the daemon or a silently accepted
// message.
func (a *adapter) guard(stage Stage, f func() Verdict) (v Verdict) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("internal error; the session is tempfailed", "stage", stage.String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			// A copy for refused: taking v's address would move v to the
			// heap on every call, not just after a panic.
			refused := InternalErrorReply()
			a.refused, v = &refused, refused
		}
	}()
	return f()
}
