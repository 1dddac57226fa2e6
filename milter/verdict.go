package milter

import (
	"fmt"
	"io"
	"strings"

	gomilter "github.com/d--j/go-milter"
)

// Action is what the milter tells the MTA to do with the current command.
type Action int

const (
	// Continue lets the command (or message) proceed.
	Continue Action = iota
	// Accept accepts the message and skips the remaining events.
	Accept
	// Reject refuses the command with a 5xx reply.
	Reject
	// TempFail refuses the command with a 4xx reply.
	TempFail
	// Discard accepts the message and silently drops it.
	Discard
)

// String is the action's lower-case name, as used in logs and traces.
func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case TempFail:
		return "tempfail"
	case Discard:
		return "discard"
	default:
		return "continue"
	}
}

// Verdict is a session's answer to one SMTP stage.
type Verdict struct {
	Action Action
	// Code and Text form the SMTP reply for Reject and TempFail. Text may
	// start with an enhanced status code and may span several lines.
	// Code 421 makes the MTA close the SMTP session after the reply.
	Code int
	Text string
}

// CodeAction is the action an SMTP reply code stands for: 5xx rejects,
// 4xx tempfails. Any other code refuses nothing, and a milter can't pass
// a 2xx or 3xx text on, so it continues. Every place that turns a code
// into an action asks here, so a reply is never logged, counted or traced
// as one action and sent as another.
func CodeAction(code int) Action {
	switch code / 100 {
	case 5:
		return Reject
	case 4:
		return TempFail
	}
	return Continue
}

// Reply returns the verdict for an SMTP reply: Reject for a 5xx code,
// TempFail for a 4xx one (see CodeAction).
func Reply(code int, text string) Verdict {
	return Verdict{Action: CodeAction(code), Code: code, Text: text}
}

// String renders the verdict like a log line: "reject 550 5.7.1 text".
func (v Verdict) String() string {
	if v.Code == 0 {
		return v.Action.String()
	}
	return fmt.Sprintf("%s %d %s", v.Action, v.Code, strings.ReplaceAll(v.Text, "\n", `\n`))
}

// MaxHeaderChange is the most bytes the name and value of one header
// change may have together. A modification packet carries at most 64 KiB
// (go-milter refuses larger ones, and so does the MTA's side of the
// protocol): a 4-byte index, the name, the value, two NULs, and a space
// the adapter may add after the colon.
const MaxHeaderChange = int(gomilter.DataSize64K) - 4 - 2 - 1

// ChangeKind names one milter modification.
type ChangeKind int

const (
	// AddHeader appends a header field (Name, Value).
	AddHeader ChangeKind = iota
	// InsertHeader inserts a header at Index of all headers (0 = top).
	InsertHeader
	// ChangeHeader replaces the Index-th (1-based) field named Name; an
	// empty Value deletes it.
	ChangeHeader
	// AddRcpt adds the envelope recipient Addr with ESMTP Args.
	AddRcpt
	// DelRcpt removes the envelope recipient Addr.
	DelRcpt
	// ChangeFrom replaces the envelope sender with Addr and Args.
	ChangeFrom
	// ReplaceBody replaces the body with what Body yields.
	ReplaceBody
	// Quarantine holds the message with Reason.
	Quarantine
)

var changeNames = [...]string{"add_header", "insert_header", "change_header", "add_rcpt", "del_rcpt", "change_from", "replace_body", "quarantine"}

// String is the change's name in logs and traces, e.g. "add_header".
func (k ChangeKind) String() string { return changeNames[k] }

// Change is one modification applied at end of message.
type Change struct {
	Kind   ChangeKind `json:"kind"`
	Name   string     `json:"name,omitempty"`
	Value  string     `json:"value,omitempty"`
	Index  int        `json:"index,omitempty"`
	Addr   string     `json:"addr,omitempty"`
	Args   string     `json:"args,omitempty"`
	Reason string     `json:"reason,omitempty"`
	// Body opens the replacement body; it is read once, streaming.
	Body func() (io.ReadCloser, error) `json:"-"`
	// BodySize is the replacement's size, for logs.
	BodySize int64 `json:"body_size,omitempty"`
}

// String renders the change for logs.
func (c Change) String() string {
	switch c.Kind {
	case AddHeader:
		return fmt.Sprintf("add_header %s: %q", c.Name, c.Value)
	case InsertHeader:
		return fmt.Sprintf("insert_header %d %s: %q", c.Index, c.Name, c.Value)
	case ChangeHeader:
		return fmt.Sprintf("change_header %s[%d]: %q", c.Name, c.Index, c.Value)
	case AddRcpt, DelRcpt:
		return fmt.Sprintf("%s <%s>", c.Kind, c.Addr)
	case ChangeFrom:
		return fmt.Sprintf("change_from <%s>", c.Addr)
	case ReplaceBody:
		return fmt.Sprintf("replace_body %d bytes", c.BodySize)
	default:
		return fmt.Sprintf("quarantine %q", c.Reason)
	}
}

// Result is a session's answer at end of message.
type Result struct {
	Verdict Verdict
	Changes []Change
}
