package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/milter"
)

// rcpt is an envelope recipient with its ESMTP arguments.
type rcpt struct{ addr, args string }

// hdr is a header field of the message being edited. orig is its index in
// the received header list, or -1 for a field a script added.
type hdr struct {
	name, value string
	orig        int
}

// # The message API: Momentum and milter
//
// Momentum's ec_message is the stored message itself; a milter only sees
// a copy and asks the MTA for changes at end of message. luamilter keeps
// the received header fields and body, lets the scripts edit a working
// copy, and at end of message sends the smallest set of milter changes
// that turns one into the other (diff.go):
//
//   - A header field keeps its received bytes (folding, RFC 2047 words,
//     8-bit text) unless a script gives it a value that reads differently.
//     Changed and deleted fields become SMFIR_CHGHEADER with the field's
//     per-name index, from the last field to the first; added fields are
//     inserted at the top (prepend) or far past the end (append, replace).
//     An untouched message gets no modification at all.
//   - The body is sent again (SMFIR_REPLBODY) only if it differs from the
//     received one. A replaced or re-serialised body is written to a spool
//     (memory below the spool threshold, a file above) and streamed to the
//     MTA; spool files are removed once sent, when the message is refused,
//     and when the session ends for any reason.
//   - The MIME tree (msg:mime) is parsed with go-message; parts nobody
//     touched are written back byte for byte.
//
// What a milter can't do, and what luamilter does instead:
//
//   - Per-recipient copies. In validate_data_spool_each_rcpt and
//     validate_set_binding each recipient has its own copy (rcptcopy.go);
//     a milter has one message, so the copies merge back and edits that
//     differ between recipients are left out with a warning, unless the
//     split setting takes one recipient per transaction (split.go).
//     msg:discard() there removes that recipient.
//   - A 5xx for one recipient after DATA: the recipient is removed (the
//     MTA can't bounce it for us); a 4xx tempfails the whole message.
//   - Bindings and routing (msg:binding, binding_group, routing_domain):
//     no MTA equivalent through milter; logged, and the getters answer
//     "default" or the recipient's domain.
//   - EHLO capability edits (ac:esmtp_capability_add/remove): the MTA has
//     already answered EHLO; logged and ignored.
//   - Sending mail (msg:inject, msg:forward): a Lua error that says so.
//     msys.core.ec_message_new and msg:build still compose messages.
//   - msg.priority: settable (0 or 1) and read back; the MTA orders its
//     own queue, so it has no effect (logged once). msg.batch_id is the
//     message's own id, msg.recv_via the MTA's listener ({daemon_addr},
//     {daemon_port}), msg.recv_method msys.core.P_ESMTP.
//   - Quarantine is luamilter's own (msg:quarantine → SMFIR_QUARANTINE).
//
// Memory: the body is read into one Go string the first time a script
// needs it (msg:body, *_match, msg:mime, ...), shared with Lua without a
// copy, so a 10 MB spooled message costs 10 MB while the callouts run;
// msg:raw() costs another copy, and pattern matching converts its subject
// to runes (4 bytes per character) for the call. Scripts that only read
// headers never load the body.

// message is the transaction a session is building: envelope from MAIL
// FROM on, content from end of message on, plus every edit the scripts
// made. Edits become milter changes in changes().
type message struct {
	s        *session
	from     string
	fromArgs string
	newFrom  *string // set by msg:mailfrom(addr); the ESMTP arguments stay

	rcpts   []rcpt          // accepted by RCPT, in order
	added   []rcpt          // added by scripts
	removed map[string]bool // removed by scripts (lower-case address); nil until one is
	current string          // recipient being validated

	phase        string // callout running, for phase rules
	content      bool   // headers and body are here (end of message)
	bodyOmitted  bool   // the body was not asked of the MTA
	orig         []milter.Header
	headers      []hdr
	body         *milter.Spool // as received
	newBody      *milter.Spool // replacement; nil while the body is unchanged
	cur          string        // current body, read once on first use
	curOK        bool
	tree         *mimePart       // msg:mime's tree; edits to it are written at the end
	treeWritable bool            // msg:mime(false) was called
	detached     bool            // from msys.core.ec_message_new: not the session's message
	bodyGen      int             // bumped by every body edit
	spools       []*milter.Spool // every replacement body, closed with the message

	discard       bool
	discardReason string
	quarantine    string
	priority      int // msg.priority: read back, no milter effect
	ud            *lua.LUserData
}

func newMessage(s *session, from, args string) *message {
	return &message{s: s, from: from, fromArgs: args}
}

func (m *message) addAccepted(addr, args string) {
	m.rcpts = append(m.rcpts, rcpt{addr: addr, args: args})
}

// load attaches the received content at end of message.
func (m *message) load(mm *milter.Message) {
	m.content = true
	m.orig = mm.Headers
	m.headers = make([]hdr, len(mm.Headers))
	for i, h := range mm.Headers {
		m.headers[i] = hdr{name: h.Name, value: h.Value, orig: i}
	}
	m.body = mm.Body
	m.bodyOmitted = mm.BodyOmitted
}

// recipients is the envelope recipient list after the scripts' edits.
func (m *message) recipients() []rcpt {
	var out []rcpt
	for _, r := range m.rcpts {
		if !m.isRemoved(r.addr) {
			out = append(out, r)
		}
	}
	for _, r := range m.added {
		if !m.isRemoved(r.addr) {
			out = append(out, r)
		}
	}
	return out
}

// addRecipient records a script's added recipient.
func (m *message) addRecipient(addr string) {
	key := strings.ToLower(addr)
	if m.removed[key] {
		delete(m.removed, key)
		for _, r := range m.rcpts {
			if strings.EqualFold(r.addr, addr) {
				return
			}
		}
	}
	for _, r := range m.recipients() {
		if strings.EqualFold(r.addr, addr) {
			return
		}
	}
	m.added = append(m.added, rcpt{addr: addr})
}

// removeRecipient records a script's removed recipient.
func (m *message) removeRecipient(addr string) {
	if m.removed == nil {
		m.removed = map[string]bool{}
	}
	m.removed[strings.ToLower(addr)] = true
}

// isRemoved reports whether a script removed addr. Most messages have no
// removals, so their addresses are not lower-cased to look them up.
func (m *message) isRemoved(addr string) bool {
	return len(m.removed) > 0 && m.removed[strings.ToLower(addr)]
}

// headerValues returns the raw values of every field named name.
func (m *message) headerValues(name string) []string {
	var out []string
	for _, h := range m.headers {
		if strings.EqualFold(h.name, name) {
			out = append(out, h.value)
		}
	}
	return out
}

// setHeader edits the fields named name. mode is "replace", "append" or
// "prepend"; replace reuses the existing fields' positions so an edited
// field stays where it was. No values with replace deletes them all.
func (m *message) setHeader(name string, values []string, mode string) {
	switch mode {
	case "append":
		for _, v := range values {
			m.headers = append(m.headers, hdr{name: name, value: v, orig: -1})
		}
	case "prepend":
		top := make([]hdr, 0, len(values)+len(m.headers))
		for _, v := range values {
			top = append(top, hdr{name: name, value: v, orig: -1})
		}
		m.headers = append(top, m.headers...)
	default: // replace
		kept := m.headers[:0:0]
		i := 0
		for _, h := range m.headers {
			if !strings.EqualFold(h.name, name) {
				kept = append(kept, h)
				continue
			}
			if i < len(values) {
				// A value that reads the same keeps its received bytes
				// (encoding, folding, 8-bit text): no change to send.
				if decodeHeader(values[i]) != decodeHeader(h.value) {
					h.value = values[i]
				}
				kept = append(kept, h)
				i++
			}
		}
		for ; i < len(values); i++ {
			kept = append(kept, hdr{name: name, value: values[i], orig: -1})
		}
		m.headers = kept
	}
}

// currentBody returns the body as it stands, edits included. The first
// call reads it into one string that later calls (and Lua, which shares Go
// strings) reuse, so a spooled body costs its size in memory once.
func (m *message) currentBody() (string, error) {
	if m.bodyOmitted {
		return "", errBodyOmitted
	}
	if err := m.flushTree(); err != nil {
		return "", err
	}
	if m.curOK {
		return m.cur, nil
	}
	sp := m.newBody
	if sp == nil {
		sp = m.body
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
func (m *message) newSpool() *milter.Spool {
	if m.body != nil {
		return m.body.Sibling()
	}
	return milter.NewSpool("", 1<<20, 0)
}

// setBody replaces the body with s. A MIME tree taken before is dropped:
// it describes the old body.
func (m *message) setBody(s string) error {
	sp := m.newSpool()
	if _, err := io.WriteString(sp, s); err != nil {
		sp.Close()
		return fmt.Errorf("store new body: %w", err)
	}
	m.replaceSpool(sp)
	m.cur, m.curOK = s, true
	m.tree = nil
	return nil
}

// writeBody replaces the body with what write produces, streaming it to
// a spool so a large re-serialised body is never held in memory whole.
func (m *message) writeBody(write func(io.Writer) error) error {
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
func (m *message) replaceSpool(sp *milter.Spool) {
	m.spools = append(m.spools, sp)
	m.newBody = sp
	m.bodyGen++
}

// bodyEdit is a snapshot of the body's edit state, to undo later edits
// (dry-run modules, per-recipient edits that can't be applied).
type bodyEdit struct {
	newBody *milter.Spool
	cur     string
	curOK   bool
	gen     int
}

// saveBody snapshots the body, writing an edited MIME tree out first.
func (m *message) saveBody() bodyEdit {
	if err := m.flushTree(); err != nil {
		m.s.logger().Warn("MIME tree could not be written", "err", err)
	}
	return bodyEdit{newBody: m.newBody, cur: m.cur, curOK: m.curOK, gen: m.bodyGen}
}

// restoreBody returns to a snapshot. A MIME tree edited since is dropped;
// the next msg:mime() parses the restored body.
func (m *message) restoreBody(e bodyEdit) {
	if m.bodyGen != e.gen || (m.tree != nil && m.tree.dirty()) {
		m.tree = nil
	}
	m.newBody, m.cur, m.curOK, m.bodyGen = e.newBody, e.cur, e.curOK, e.gen
}

// flushTree writes an edited MIME tree back into the body.
func (m *message) flushTree() error {
	t := m.tree
	if t == nil || !t.dirty() {
		return nil
	}
	err := m.writeBody(t.writeBody)
	t.clean()
	return err
}

// bodySize is the size of the current body in bytes.
func (m *message) bodySize() int64 {
	if err := m.flushTree(); err != nil {
		m.s.logger().Warn("MIME tree could not be written", "err", err)
	}
	switch {
	case m.newBody != nil:
		return m.newBody.Size()
	case m.body != nil:
		return m.body.Size()
	}
	return 0
}

// size is the message size in bytes: header block plus body.
func (m *message) size() int64 {
	return int64(m.headerBlockSize()) + 2 + m.bodySize()
}

// sameSpools reports whether two spools hold the same bytes, reading
// both in chunks.
func sameSpools(a, b *milter.Spool) (bool, error) {
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

// headerBlock renders the current header fields as they would be sent.
func (m *message) headerBlock() string {
	var b strings.Builder
	b.Grow(m.headerBlockSize())
	m.renderHeaders(func(s string) { b.WriteString(s) })
	return b.String()
}

// headerBlockSize is len(m.headerBlock()), without building it.
func (m *message) headerBlockSize() int {
	n := 0
	m.renderHeaders(func(s string) { n += len(s) })
	return n
}

// renderHeaders hands the pieces of the header block to emit in order.
func (m *message) renderHeaders(emit func(string)) {
	for _, h := range m.headers {
		emit(h.name)
		if h.value != "" && h.value[0] != ' ' && h.value[0] != '\t' {
			emit(": ") // the MTA stripped the space (SMFIP_HDR_LEADSPC not negotiated)
		} else {
			emit(":")
		}
		emit(crlf(h.value))
		emit("\r\n")
	}
}

// close ends the message and removes any replacement body's spool file.
func (m *message) close() {
	m.ud = nil
	m.tree = nil
	m.cur, m.curOK = "", false
	m.releaseSpools()
	m.newBody = nil
}

// releaseSpools removes every replacement body's memory and file.
func (m *message) releaseSpools() {
	for _, sp := range m.spools {
		sp.Close()
	}
	m.spools = nil
}
