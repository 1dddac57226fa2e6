package milter

import (
	"context"
	"net"
)

// Backend creates one Session per MTA milter connection. It is the only
// thing the milter layer needs from the policy engine.
type Backend interface {
	NewSession(ctx context.Context, info SessionInfo) (Session, error)
}

// SessionInfo describes the milter connection a session serves.
type SessionInfo struct {
	ID uint64 // unique per Server
	// Actions are the modification actions the MTA agreed to for this
	// connection; a change outside them can't be sent.
	Actions Actions
}

// Macros gives the values the MTA sent for the current stage and earlier.
type Macros interface {
	Get(name string) string
	GetEx(name string) (string, bool)
}

// Conn is the SMTP client connection as reported by the MTA.
type Conn struct {
	Host   string // client host name (or "[ip]" when unresolved)
	Family string // "tcp4", "tcp6", "unix" or "unknown"
	IP     net.IP
	Port   uint16
}

// Header is one received header field. Value is exactly what followed the
// colon, folding and leading space included.
type Header struct {
	Name  string
	Value string
}

// Message is the buffered message handed over at end of message. It,
// its header list and its body are the connection's buffers: they are
// valid until EndOfMessage returns, then emptied for the next message.
type Message struct {
	Headers []Header
	Body    *Spool
	// BodyOmitted is true when the body was not asked for (Needs.Body
	// false): Body is then empty whatever the MTA received.
	BodyOmitted bool
}

// Session follows one SMTP session through its stages. Every method gets
// the macros known so far. A session must cope with several messages on
// one connection and with Abort at any time.
type Session interface {
	Connect(ctx context.Context, c Conn, m Macros) Verdict
	Helo(ctx context.Context, name string, m Macros) Verdict
	MailFrom(ctx context.Context, from, args string, m Macros) Verdict
	RcptTo(ctx context.Context, rcpt, args string, m Macros) Verdict
	Data(ctx context.Context, m Macros) Verdict
	EndOfMessage(ctx context.Context, msg *Message, m Macros) Result
	// Abort ends the current message (RSET, rejected DATA, lost client).
	Abort(ctx context.Context, m Macros)
	// Close ends the SMTP session; no more calls follow.
	Close(ctx context.Context)
}
