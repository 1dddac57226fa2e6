package txn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/luamilter/luamilter/milter"
)

// Rcpt is an envelope recipient with its ESMTP arguments.
type Rcpt struct{ Addr, Args string }

// Field is a header field of the message being edited. orig is its index in
// the received header list, or -1 for a field a script added.
type Field struct {
	Name, Value string
	Orig        int
	// added orders the fields edits added: the fields of one SetHeader
	// share a number, later calls get higher ones (see Merge).
	added int
}

// Message is the transaction a session is building: envelope from MAIL
// FROM on, content from end of message on, plus every edit the scripts
// made. Edits become milter changes in changes().
type Message struct {
	// Owner is the embedding program's object for this message (the Lua
	// binding), so a MIME part leads back to it.
	Owner any
	// Logger returns where to report what the model can only warn about
	// (an edited MIME tree that can't be written); nil discards.
	Logger func() *slog.Logger
	// OmittedBody is the error body reads return when BodyOmitted: the
	// embedding program knows why the body was not asked for.
	OmittedBody error

	From     string
	FromArgs string
	NewFrom  *string // set by msg:mailfrom(addr); the ESMTP arguments stay

	Rcpts   []Rcpt          // accepted by RCPT, in order
	Added   []Rcpt          // added by scripts
	Removed map[string]bool // removed by scripts (lower-case address); nil until one is
	Current string          // recipient being validated, or the copy's recipient
	// A copy's recipient edits as it was made (CopyFor), so Merge applies
	// only what the copy changed since.
	copyAdded   int
	copyRemoved map[string]bool

	Content      bool // headers and body are here (end of message)
	BodyOmitted  bool // the body was not asked of the MTA
	Orig         []milter.Header
	Headers      []Field
	Body         *milter.Spool // as received
	NewBody      *milter.Spool // replacement; nil while the body is unchanged
	cur          string        // current body, read once on first use
	curOK        bool
	Tree         *Part           // msg:mime's tree; edits to it are written at the end
	TreeWritable bool            // msg:mime(false) was called
	bodyGen      int             // bumped by every body edit
	spools       []*milter.Spool // every replacement body, closed with the message

	Discard       bool
	DiscardReason string
	Quarantine    string
	Priority      int // msg.priority: read back, no milter effect
	addedSeq      int // numbers the SetHeader calls, for Field.added
}

// New returns the message of a transaction that began with MAIL FROM.
func New(from, args string) *Message {
	return &Message{From: from, FromArgs: args}
}

// logger is Logger's logger, or one that discards.
func (m *Message) logger() *slog.Logger {
	if m.Logger != nil {
		if l := m.Logger(); l != nil {
			return l
		}
	}
	return slog.New(slog.DiscardHandler)
}

// AddAccepted records a recipient the RCPT phase accepted.
func (m *Message) AddAccepted(addr, args string) {
	m.Rcpts = append(m.Rcpts, Rcpt{Addr: addr, Args: args})
}

// Load attaches the received content at end of message.
func (m *Message) Load(mm *milter.Message) {
	m.Content = true
	m.Orig = mm.Headers
	// Room for the few fields policies usually add (a verdict header, a
	// signature), so the first one does not copy the whole list.
	m.Headers = make([]Field, len(mm.Headers), len(mm.Headers)+4)
	for i, h := range mm.Headers {
		m.Headers[i] = Field{Name: h.Name, Value: h.Value, Orig: i}
	}
	m.Body = mm.Body
	m.BodyOmitted = mm.BodyOmitted
}

// Recipients is the envelope recipient list after the scripts' edits.
func (m *Message) Recipients() []Rcpt {
	var out []Rcpt
	for _, r := range m.Rcpts {
		if !m.IsRemoved(r.Addr) {
			out = append(out, r)
		}
	}
	for _, r := range m.Added {
		if !m.IsRemoved(r.Addr) {
			out = append(out, r)
		}
	}
	return out
}

// AddRecipient records a script's added recipient.
func (m *Message) AddRecipient(addr string) {
	key := strings.ToLower(addr)
	if m.Removed[key] {
		delete(m.Removed, key)
		for _, r := range m.Rcpts {
			if strings.EqualFold(r.Addr, addr) {
				return
			}
		}
	}
	for _, r := range m.Recipients() {
		if strings.EqualFold(r.Addr, addr) {
			return
		}
	}
	m.Added = append(m.Added, Rcpt{Addr: addr})
}

// RemoveRecipient records a script's removed recipient.
func (m *Message) RemoveRecipient(addr string) {
	if m.Removed == nil {
		m.Removed = map[string]bool{}
	}
	m.Removed[strings.ToLower(addr)] = true
}

// IsRemoved reports whether a script removed addr. Most messages have no
// removals, so their addresses are not lower-cased to look them up.
func (m *Message) IsRemoved(addr string) bool {
	return len(m.Removed) > 0 && m.Removed[strings.ToLower(addr)]
}

// HeaderValues returns the raw values of every field named name.
func (m *Message) HeaderValues(name string) []string {
	var out []string
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}

// SetHeader edits the fields named name. mode is "replace", "append" or
// "prepend"; replace reuses the existing fields' positions so an edited
// field stays where it was. No values with replace deletes them all.
func (m *Message) SetHeader(name string, values []string, mode string) {
	m.addedSeq++
	switch mode {
	case "append":
		for _, v := range values {
			m.Headers = append(m.Headers, Field{Name: name, Value: v, Orig: -1, added: m.addedSeq})
		}
	case "prepend":
		top := make([]Field, 0, len(values)+len(m.Headers))
		for _, v := range values {
			top = append(top, Field{Name: name, Value: v, Orig: -1, added: m.addedSeq})
		}
		m.Headers = append(top, m.Headers...)
	default: // replace
		kept := m.Headers[:0:0]
		i := 0
		for _, h := range m.Headers {
			if !strings.EqualFold(h.Name, name) {
				kept = append(kept, h)
				continue
			}
			if i < len(values) {
				// A value that reads the same keeps its received bytes
				// (encoding, folding, 8-bit text): no change to send.
				if DecodeHeader(values[i]) != DecodeHeader(h.Value) {
					h.Value = values[i]
				}
				kept = append(kept, h)
				i++
			}
		}
		for ; i < len(values); i++ {
			kept = append(kept, Field{Name: name, Value: values[i], Orig: -1, added: m.addedSeq})
		}
		m.Headers = kept
	}
}

// CurrentBody returns the body as it stands, edits included. The first
// call reads it into one string that later calls (and Lua, which shares Go
// strings) reuse, so a spooled body costs its size in memory once.
func (m *Message) CurrentBody() (string, error) {
	if m.BodyOmitted {
		return "", m.omittedBody()
	}
	if err := m.FlushTree(); err != nil {
		return "", err
	}
	if m.curOK {
		return m.cur, nil
	}
	sp := m.NewBody
	if sp == nil {
		sp = m.Body
	}
	if sp == nil {
		m.cur, m.curOK = "", true
		return "", nil
	}
	s, err := readSpool(sp)
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	m.cur, m.curOK = s, true
	return s, nil
}

// omittedBody is the error for reading a body that was not asked for.
func (m *Message) omittedBody() error {
	if m.OmittedBody != nil {
		return m.OmittedBody
	}
	return errors.New("the message body was not asked of the MTA")
}

// readSpool reads a spool into a string with a single allocation.
func readSpool(sp *milter.Spool) (string, error) {
	rc, err := sp.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var b strings.Builder
	b.Grow(int(sp.Size()))
	if _, err := io.Copy(&b, rc); err != nil {
		return "", err
	}
	return b.String(), nil
}

// newSpool returns an empty spool for a replacement body: in memory when
// small, in the received body's spool directory when large.
func (m *Message) newSpool() *milter.Spool {
	if m.Body != nil {
		return m.Body.Sibling()
	}
	return milter.NewSpool("", 1<<20, 0)
}

// SetBody replaces the body with s. A MIME tree taken before is dropped:
// it describes the old body.
func (m *Message) SetBody(s string) error {
	sp := m.newSpool()
	if _, err := io.WriteString(sp, s); err != nil {
		sp.Close()
		return fmt.Errorf("store new body: %w", err)
	}
	m.replaceSpool(sp)
	m.cur, m.curOK = s, true
	m.Tree = nil
	return nil
}

// WriteBody replaces the body with what write produces, streaming it to
// a spool so a large re-serialised body is never held in memory whole.
func (m *Message) WriteBody(write func(io.Writer) error) error {
	sp := m.newSpool()
	if err := write(sp); err != nil {
		sp.Close()
		return fmt.Errorf("store new body: %w", err)
	}
	m.replaceSpool(sp)
	m.cur, m.curOK = "", false
	return nil
}

// replaceSpool makes sp the body. Replaced spools stay open until the
// message closes, because a snapshot (bodyEdit) may bring one back.
func (m *Message) replaceSpool(sp *milter.Spool) {
	m.spools = append(m.spools, sp)
	m.NewBody = sp
	m.bodyGen++
}

// BodyEdit is a snapshot of the body's edit state, to undo later edits
// (dry-run modules, per-recipient edits that can't be applied).
type BodyEdit struct {
	newBody *milter.Spool
	cur     string
	curOK   bool
	gen     int
}

// SaveBody snapshots the body, writing an edited MIME tree out first.
func (m *Message) SaveBody() BodyEdit {
	if err := m.FlushTree(); err != nil {
		m.logger().Warn("MIME tree could not be written", "err", err)
	}
	return BodyEdit{newBody: m.NewBody, cur: m.cur, curOK: m.curOK, gen: m.bodyGen}
}

// RestoreBody returns to a snapshot. A MIME tree edited since is dropped;
// the next msg:mime() parses the restored body.
func (m *Message) RestoreBody(e BodyEdit) {
	if m.bodyGen != e.gen || (m.Tree != nil && m.Tree.Dirty()) {
		m.Tree = nil
	}
	m.NewBody, m.cur, m.curOK, m.bodyGen = e.newBody, e.cur, e.curOK, e.gen
}

// FlushTree writes an edited MIME tree back into the body.
func (m *Message) FlushTree() error {
	t := m.Tree
	if t == nil || !t.Dirty() {
		return nil
	}
	err := m.WriteBody(t.WriteBody)
	t.clean()
	return err
}

// BodySize is the size of the current body in bytes.
func (m *Message) BodySize() int64 {
	if err := m.FlushTree(); err != nil {
		m.logger().Warn("MIME tree could not be written", "err", err)
	}
	switch {
	case m.NewBody != nil:
		return m.NewBody.Size()
	case m.Body != nil:
		return m.Body.Size()
	}
	return 0
}

// Size is the message size in bytes: header block plus body.
func (m *Message) Size() int64 {
	return int64(m.HeaderBlockSize()) + 2 + m.BodySize()
}

// SameSpools reports whether two spools hold the same bytes, reading
// both in chunks.
func SameSpools(a, b *milter.Spool) (bool, error) {
	if a.Size() != b.Size() {
		return false, nil
	}
	ra, err := a.Open()
	if err != nil {
		return false, err
	}
	defer ra.Close()
	rb, err := b.Open()
	if err != nil {
		return false, err
	}
	defer rb.Close()
	ba, bb := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, ea := io.ReadFull(ra, ba)
		nb, eb := io.ReadFull(rb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		doneA := errors.Is(ea, io.EOF) || errors.Is(ea, io.ErrUnexpectedEOF)
		doneB := errors.Is(eb, io.EOF) || errors.Is(eb, io.ErrUnexpectedEOF)
		switch {
		case ea != nil && !doneA:
			return false, ea
		case eb != nil && !doneB:
			return false, eb
		case doneA || doneB:
			return doneA == doneB, nil
		}
	}
}

// HeaderBlock renders the current header fields as they would be sent.
func (m *Message) HeaderBlock() string {
	var b strings.Builder
	b.Grow(m.HeaderBlockSize())
	m.renderHeaders(func(s string) { b.WriteString(s) })
	return b.String()
}

// HeaderBlockSize is len(m.headerBlock()), without building it.
func (m *Message) HeaderBlockSize() int {
	n := 0
	m.renderHeaders(func(s string) { n += len(s) })
	return n
}

// renderHeaders hands the pieces of the header block to emit in order.
func (m *Message) renderHeaders(emit func(string)) {
	for _, h := range m.Headers {
		emit(h.Name)
		if h.Value != "" && h.Value[0] != ' ' && h.Value[0] != '\t' {
			emit(": ") // the MTA stripped the space (SMFIP_HDR_LEADSPC not negotiated)
		} else {
			emit(":")
		}
		emit(CRLF(h.Value))
		emit("\r\n")
	}
}

// Close ends the message and removes any replacement body's spool file.
func (m *Message) Close() {
	m.Tree = nil
	m.cur, m.curOK = "", false
	m.ReleaseSpools()
	m.NewBody = nil
}

// ReleaseSpools removes every replacement body's memory and file.
func (m *Message) ReleaseSpools() {
	for _, sp := range m.spools {
		sp.Close()
	}
	m.spools = nil
}

// UnreadSpool returns the body's spool when it is on disk and not yet
// read by CurrentBody, so a search can map it instead of reading it; nil
// when the body is in memory, already read, or empty.
func (m *Message) UnreadSpool() (*milter.Spool, error) {
	if m.BodyOmitted {
		return nil, m.omittedBody()
	}
	if err := m.FlushTree(); err != nil {
		return nil, err
	}
	if m.curOK {
		return nil, nil
	}
	if sp := m.current(); sp != nil && sp.OnDisk() {
		return sp, nil
	}
	return nil, nil
}
