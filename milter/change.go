package milter

import (
	"io"
	"strconv"

	gomilter "github.com/d--j/go-milter"
)

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

// String is the change's name in logs, traces and recordings, e.g.
// "add_header". Recordings store it, so a name never changes.
func (k ChangeKind) String() string {
	switch k {
	case AddHeader:
		return "add_header"
	case InsertHeader:
		return "insert_header"
	case ChangeHeader:
		return "change_header"
	case AddRcpt:
		return "add_rcpt"
	case DelRcpt:
		return "del_rcpt"
	case ChangeFrom:
		return "change_from"
	case ReplaceBody:
		return "replace_body"
	case Quarantine:
		return "quarantine"
	}
	return "change(" + strconv.Itoa(int(k)) + ")"
}

// ParseChangeKind is the kind String names, for changes read back from
// a recording.
func ParseChangeKind(name string) (ChangeKind, bool) {
	for k := AddHeader; k <= Quarantine; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

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

// String renders the change on one line, as logs, dry-run reports and
// recording diffs show it: "insert_header 0 X-Tag: \"yes\"". Header
// values and ESMTP args are quoted so that a line break, a blank at
// either end or an empty value stays visible and the entry one line;
// two changes that differ render differently, which recording diffs
// rely on.
func (c Change) String() string { return c.format(true) }

// Plain renders the change as String does but with header values and
// ESMTP args as they are, unquoted: "insert_header 0 X-Tag: yes". It is
// how `luamilter test` prints what the MTA got, the form people write
// its expectations in. A value keeps its own leading blank: "X-Tag:" is
// followed directly by the value.
func (c Change) Plain() string { return c.format(false) }

// format is the one layout of a change; quoted only says how a header
// value or ESMTP args are written. A quarantine reason is always quoted:
// it is free text in every form.
func (c Change) format(quoted bool) string {
	text := func(v string) string {
		if quoted {
			return strconv.Quote(v)
		}
		return v
	}
	kind := c.Kind.String()
	switch c.Kind {
	case AddHeader, InsertHeader, ChangeHeader:
		field := c.Name
		switch {
		case c.Kind == InsertHeader:
			field = strconv.Itoa(c.Index) + " " + field
		case c.Kind == ChangeHeader && c.Value == "":
			return "delete_header " + field + "[" + strconv.Itoa(c.Index) + "]"
		case c.Kind == ChangeHeader:
			field += "[" + strconv.Itoa(c.Index) + "]"
		}
		if quoted {
			return kind + " " + field + ": " + text(c.Value)
		}
		return kind + " " + field + ":" + c.Value
	case AddRcpt, DelRcpt, ChangeFrom:
		s := kind + " <" + c.Addr + ">"
		if c.Args != "" {
			s += " " + text(c.Args)
		}
		return s
	case ReplaceBody:
		return kind + " " + strconv.FormatInt(c.BodySize, 10) + " bytes"
	case Quarantine:
		return kind + " " + strconv.Quote(c.Reason)
	}
	return kind
}
