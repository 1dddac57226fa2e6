package txn

import (
	"maps"
	"slices"
	"strings"

	"github.com/luamilter/luamilter/milter"
)

// CopyFor returns a private copy of m for one recipient, for the phases
// where each recipient has its own message. The copy shares the received
// content and the current body spool (a spool is never written once
// made); its own edits go to spools it owns until Merge or AdoptSpools
// hands them to m. Owner is left for the caller to set.
func (m *Message) CopyFor(addr string) *Message {
	m.SaveBody() // an edited MIME tree goes into the body the copy shares
	c := *m
	c.Owner = nil
	c.Headers = slices.Clone(m.Headers)
	c.Added = slices.Clone(m.Added)
	c.Removed = maps.Clone(m.Removed)
	c.copyAdded, c.copyRemoved = len(m.Added), maps.Clone(m.Removed)
	c.Current = addr
	c.Tree, c.TreeWritable = nil, false
	c.spools = nil
	c.Discard, c.DiscardReason = false, ""
	return &c
}

// AdoptSpools makes m own (and close) the spools c made.
func (m *Message) AdoptSpools(c *Message) {
	m.spools = append(m.spools, c.spools...)
	c.spools = nil
}

// Merge folds the copies of the recipients that remain into m: recipient
// changes all apply (those each copy made, not the ones it was made
// with, so a copy can't undo another's); the sender, each header name and the body apply
// when every copy ended the same, and m keeps its own otherwise; a
// quarantine in any copy quarantines m. It returns what was not applied
// because the copies differ.
func (m *Message) Merge(copies []*Message) (differ []string) {
	if len(copies) == 0 {
		return nil
	}
	for _, c := range copies {
		for key := range c.copyRemoved {
			if !c.Removed[key] { // added back by the copy
				delete(m.Removed, key)
			}
		}
	}
	for _, c := range copies {
		for key := range c.Removed {
			if !c.copyRemoved[key] {
				m.RemoveRecipient(key)
			}
		}
	}
	for _, c := range copies {
		for _, r := range c.Added[min(c.copyAdded, len(c.Added)):] {
			if !c.IsRemoved(r.Addr) {
				m.AddRecipient(r.Addr)
			}
		}
	}
	first := copies[0]
	if all(copies, func(c *Message) bool { return sameAddr(c.NewFrom, first.NewFrom) }) {
		m.NewFrom = first.NewFrom
	} else {
		differ = append(differ, "sender (msg:mailfrom)")
	}
	names, merged := m.mergeHeaders(copies)
	m.Headers = merged
	differ = append(differ, names...)
	if m.mergeBody(copies) {
		differ = append(differ, "body")
	}
	for _, c := range copies {
		if m.Quarantine == "" {
			m.Quarantine = c.Quarantine
		}
	}
	return differ
}

// mergeHeaders takes each header name from the copies when they all ended
// with the same fields of that name, and from m otherwise.
func (m *Message) mergeHeaders(copies []*Message) (differ []string, merged []Field) {
	first := copies[0].Headers
	names := map[string]string{} // lower-case → as written, for the report
	for _, c := range copies {
		for _, h := range c.Headers {
			names[strings.ToLower(h.Name)] = h.Name
		}
	}
	for _, h := range m.Headers {
		names[strings.ToLower(h.Name)] = h.Name
	}
	agree := map[string]bool{}
	var disagree []string
	for key, name := range names {
		want := fieldsNamed(first, key)
		agree[key] = all(copies[1:], func(c *Message) bool { return slices.Equal(fieldsNamed(c.Headers, key), want) })
		if !agree[key] {
			disagree = append(disagree, name)
		}
	}
	if len(disagree) == 0 {
		return nil, first
	}
	slices.Sort(disagree)
	// Received fields keep their place through Orig whatever the order
	// of the list; added fields are placed by whether they come before
	// the first received field. The merged list is in the order the MTA
	// will hold: inserted at the top, received, appended.
	var top, received, bottom []Field
	sortOut := func(list []Field, want bool) {
		seenOrig := false
		for _, h := range list {
			if h.Orig >= 0 {
				seenOrig = true
			}
			if agree[strings.ToLower(h.Name)] != want {
				continue
			}
			switch {
			case h.Orig >= 0:
				received = append(received, h)
			case !seenOrig:
				top = append(top, h)
			default:
				bottom = append(bottom, h)
			}
		}
	}
	sortOut(first, true)
	sortOut(m.Headers, false)
	// Each part keeps the order the edits made: received fields by
	// their place, appended ones oldest first, prepended ones newest
	// first (a prepend goes above everything before it). A field the
	// copies share from before they were made keeps its number in each.
	slices.SortStableFunc(received, func(a, b Field) int { return a.Orig - b.Orig })
	slices.SortStableFunc(bottom, func(a, b Field) int { return a.added - b.added })
	slices.SortStableFunc(top, func(a, b Field) int { return b.added - a.added })
	return disagree, slices.Concat(top, received, bottom)
}

// fieldsNamed lists a header list's fields of one (lower-case) name, with
// whether each is an added field at the top, so two lists compare equal
// only if they would produce the same milter changes for that name.
func fieldsNamed(hs []Field, key string) []fieldPlace {
	var out []fieldPlace
	seenOrig := false
	for _, h := range hs {
		if h.Orig >= 0 {
			seenOrig = true
		}
		if strings.EqualFold(h.Name, key) {
			out = append(out, fieldPlace{value: strings.TrimLeft(h.Value, " \t"), orig: h.Orig, top: h.Orig < 0 && !seenOrig})
		}
	}
	return out
}

type fieldPlace struct {
	value string
	orig  int
	top   bool
}

// mergeBody takes the copies' body when they all ended with the same
// one, and reports whether they differed (m's body then stays).
func (m *Message) mergeBody(copies []*Message) (differ bool) {
	for _, c := range copies {
		c.SaveBody() // an edited MIME tree into the copy's body
	}
	if all(copies, func(c *Message) bool { return c.bodyGen == m.bodyGen }) {
		return false // nobody changed it
	}
	first := copies[0]
	if !all(copies[1:], func(c *Message) bool { return sameCurrentBody(first, c) }) {
		return true
	}
	m.RestoreBody(BodyEdit{newBody: first.NewBody, cur: first.cur, curOK: first.curOK, gen: m.bodyGen + 1})
	return false
}

// sameCurrentBody reports whether two copies hold the same body bytes.
func sameCurrentBody(a, b *Message) bool {
	sa, sb := a.current(), b.current()
	switch {
	case sa == sb:
		return true
	case sa == nil || sb == nil:
		return false
	}
	same, err := SameSpools(sa, sb)
	return err == nil && same
}

// current is the spool of the body as it stands.
func (m *Message) current() *milter.Spool {
	if m.NewBody != nil {
		return m.NewBody
	}
	return m.Body
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
