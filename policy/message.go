package policy

import (
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

// message is the transaction a session is building: envelope from MAIL
// FROM on, content from end of message on, plus every edit the scripts
// made. Edits become milter changes in changes().
type message struct {
	s        *session
	from     string
	fromArgs string
	newFrom  *rcpt // set by msg:mailfrom(addr)

	rcpts     []rcpt          // accepted by RCPT, in order
	added     []rcpt          // added by scripts
	removed   map[string]bool // removed by scripts (lower-case address)
	current   string          // recipient being validated
	rcptFinal bool            // DATA seen: the list is final

	phase   string // callout running, for phase rules
	content bool   // headers and body are here (end of message)
	orig    []milter.Header
	headers []hdr
	body    *milter.Spool
	newBody *[]byte

	discard       bool
	discardReason string
	dropOne       bool // msg:discard in each_rcpt with several recipients
	quarantine    string
	ud            *lua.LUserData
}

func newMessage(s *session, from, args string) *message {
	return &message{s: s, from: from, fromArgs: args, removed: map[string]bool{}}
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
}

// recipients is the envelope recipient list after the scripts' edits.
func (m *message) recipients() []rcpt {
	var out []rcpt
	for _, r := range m.rcpts {
		if !m.removed[strings.ToLower(r.addr)] {
			out = append(out, r)
		}
	}
	for _, r := range m.added {
		if !m.removed[strings.ToLower(r.addr)] {
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
	m.removed[strings.ToLower(addr)] = true
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
				h.value = values[i]
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

// bodyBytes returns the current body (edited or received).
func (m *message) bodyBytes() ([]byte, error) {
	if m.newBody != nil {
		return *m.newBody, nil
	}
	if m.body == nil {
		return nil, nil
	}
	return m.body.Bytes()
}

// size is the message size in bytes: header block plus body.
func (m *message) size() int64 {
	var n int64
	for _, h := range m.headers {
		n += int64(len(h.name) + 1 + len(h.value) + 2)
	}
	n += 2
	if m.newBody != nil {
		return n + int64(len(*m.newBody))
	}
	if m.body != nil {
		n += m.body.Size()
	}
	return n
}

// headerBlock renders the current header fields as they would be sent.
func (m *message) headerBlock() string {
	var b strings.Builder
	for _, h := range m.headers {
		b.WriteString(h.name)
		b.WriteByte(':')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(h.value, "\r\n", "\n"), "\n", "\r\n"))
		b.WriteString("\r\n")
	}
	return b.String()
}

func (m *message) close() {
	m.ud = nil
}
