package policy

import (
	"maps"
	"slices"
	"strings"
)

// # One message per recipient
//
// On Momentum, validate_data_spool_each_rcpt and validate_set_binding see
// one message per recipient: what a script does to recipient A's copy
// (headers, body, context) is A's alone. A milter has one copy for every
// recipient, so luamilter gives each recipient a private copy of the
// message and its context dictionary for those two phases, then merges
// the copies back:
//
//   - Envelope edits (msg:rcptto(addr), added or removed recipients) are
//     per recipient by nature and all apply.
//   - A header (by name), the body and the sender apply when every
//     surviving recipient's copy ended the same. When copies differ, the
//     message keeps what it had before the per-recipient phases and the
//     difference is logged by name: a milter can't split a message. The
//     per_recipient_edits = "split" setting avoids the case by taking
//     one recipient per transaction (split.go).
//   - msg:quarantine in any copy quarantines the message.
//   - A context value the copies agree on stays for the later hooks.

// rcptCopy is one recipient's private view in the per-recipient phases.
type rcptCopy struct {
	addr    string
	msg     *message
	mess    map[string]string
	dropped bool
}

// copyFor returns a private copy of m for one recipient. The copy shares
// the received content and the current body spool (spools are never
// written once made); its own edits go to new spools it owns until merge
// adopts them.
func (m *message) copyFor(addr string) *message {
	m.saveBody() // an edited MIME tree goes into the body the copy shares
	c := *m
	c.headers = slices.Clone(m.headers)
	c.added = slices.Clone(m.added)
	c.removed = maps.Clone(m.removed)
	c.current = addr
	c.tree, c.treeWritable = nil, false
	c.spools = nil
	c.ud = nil
	c.discard, c.discardReason = false, ""
	return &c
}

// mergeCopies folds the surviving recipients' copies into m, as the
// package comment above describes, and returns the names of what could
// not be applied because the copies differ.
func (m *message) mergeCopies(copies []*rcptCopy) (differ []string) {
	var live []*rcptCopy
	for _, c := range copies {
		m.spools = append(m.spools, c.msg.spools...) // m closes them all
		c.msg.spools = nil
		if !c.dropped {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return nil
	}
	for _, c := range live {
		for key := range c.msg.removed {
			m.removeRecipient(key)
		}
	}
	for _, c := range live {
		for _, r := range c.msg.added {
			if !c.msg.isRemoved(r.addr) {
				m.addRecipient(r.addr)
			}
		}
	}
	first := live[0].msg
	if all(live, func(c *rcptCopy) bool { return sameAddr(c.msg.newFrom, first.newFrom) }) {
		m.newFrom = first.newFrom
	} else {
		differ = append(differ, "sender (msg:mailfrom)")
	}
	names, merged := m.mergeHeaders(live)
	m.headers = merged
	differ = append(differ, names...)
	if m.mergeBody(live) {
		differ = append(differ, "body")
	}
	for _, c := range live {
		if m.quarantine == "" && c.msg.quarantine != "" {
			m.quarantine = c.msg.quarantine
		}
		if m.quarantine == "" && c.mess["quarantine"] != "" {
			m.quarantine = c.mess["quarantine"]
		}
	}
	return differ
}

// mergeContext returns the message context after the per-recipient
// phases: base plus every value all surviving copies agree on.
func mergeContext(base map[string]string, copies []*rcptCopy) map[string]string {
	var live []*rcptCopy
	for _, c := range copies {
		if !c.dropped {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return base
	}
	out := maps.Clone(live[0].mess)
	for _, c := range live[1:] {
		for k, v := range out {
			if w, ok := c.mess[k]; !ok || w != v {
				if bv, ok := base[k]; ok {
					out[k] = bv
				} else {
					delete(out, k)
				}
			}
		}
	}
	for k, v := range base {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// mergeHeaders takes each header name from the copies when they all ended
// with the same fields of that name, and from m otherwise.
func (m *message) mergeHeaders(live []*rcptCopy) (differ []string, merged []hdr) {
	first := live[0].msg.headers
	agree := map[string]bool{}
	names := map[string]string{} // lower-case → as written, for the log
	for _, c := range live {
		for _, h := range c.msg.headers {
			names[strings.ToLower(h.name)] = h.name
		}
	}
	for _, h := range m.headers {
		names[strings.ToLower(h.name)] = h.name
	}
	for key := range names {
		want := fieldsNamed(first, key)
		ok := true
		for _, c := range live[1:] {
			if !slices.Equal(fieldsNamed(c.msg.headers, key), want) {
				ok = false
				break
			}
		}
		agree[key] = ok
	}
	var disagree []string
	for key, ok := range agree {
		if !ok {
			disagree = append(disagree, names[key])
		}
	}
	if len(disagree) == 0 {
		return nil, first
	}
	slices.Sort(disagree)
	// Received fields keep their place through orig whatever the order
	// of the list; added fields are placed by whether they come before
	// the first received field. The merged list is in the order the MTA
	// will hold: inserted at the top, received, appended.
	pick := func(h hdr) bool { return agree[strings.ToLower(h.name)] }
	var top, received, bottom []hdr
	sortOut := func(list []hdr, want bool) {
		seenOrig := false
		for _, h := range list {
			if h.orig >= 0 {
				seenOrig = true
			}
			if pick(h) != want {
				continue
			}
			switch {
			case h.orig >= 0:
				received = append(received, h)
			case !seenOrig:
				top = append(top, h)
			default:
				bottom = append(bottom, h)
			}
		}
	}
	sortOut(first, true)
	sortOut(m.headers, false)
	slices.SortStableFunc(received, func(a, b hdr) int { return a.orig - b.orig })
	return disagree, slices.Concat(top, received, bottom)
}

// fieldsNamed lists a header list's fields of one (lower-case) name, with
// whether each is an added field at the top, so two lists compare equal
// only if they would produce the same milter changes for that name.
func fieldsNamed(hs []hdr, key string) []hdrPlace {
	var out []hdrPlace
	seenOrig := false
	for _, h := range hs {
		if h.orig >= 0 {
			seenOrig = true
		}
		if strings.EqualFold(h.name, key) {
			out = append(out, hdrPlace{value: strings.TrimLeft(h.value, " \t"), orig: h.orig, top: h.orig < 0 && !seenOrig})
		}
	}
	return out
}

type hdrPlace struct {
	value string
	orig  int
	top   bool
}

// mergeBody takes the copies' body when they all ended with the same
// one, and reports whether they differed (m's body then stays).
func (m *message) mergeBody(live []*rcptCopy) (differ bool) {
	for _, c := range live {
		c.msg.saveBody() // an edited MIME tree into the copy's body
	}
	first := live[0].msg
	if all(live, func(c *rcptCopy) bool { return c.msg.bodyGen == m.bodyGen }) {
		return false // nobody changed it
	}
	for _, c := range live[1:] {
		if !sameCurrentBody(first, c.msg) {
			return true
		}
	}
	m.restoreBody(bodyEdit{newBody: first.newBody, cur: first.cur, curOK: first.curOK, gen: m.bodyGen + 1})
	return false
}

// sameCurrentBody reports whether two copies hold the same body bytes.
func sameCurrentBody(a, b *message) bool {
	sa, sb := a.newBody, b.newBody
	if sa == nil {
		sa = a.body
	}
	if sb == nil {
		sb = b.body
	}
	switch {
	case sa == sb:
		return true
	case sa == nil || sb == nil:
		return false
	}
	same, err := sameSpools(sa, sb)
	return err == nil && same
}

func sameAddr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func all[T any](s []T, f func(T) bool) bool {
	for _, v := range s {
		if !f(v) {
			return false
		}
	}
	return true
}
