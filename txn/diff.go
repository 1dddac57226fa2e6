package txn

import (
	"io"
	"strings"

	"github.com/luamilter/luamilter/milter"
)

// appendIndex is an InsertHeader index past any header list: Sendmail
// counts headers it never shows the milter, and AddHeader may reuse a
// deleted slot there, so "insert far past the end" is the reliable append.
const appendIndex = 1 << 16

// Changes computes the smallest set of milter modifications that turns
// the received message into the edited one. An untouched message yields
// none. Header edits come first, then envelope, then the body.
func (m *Message) Changes() []milter.Change {
	out := m.headerChanges()
	if m.NewFrom != nil && *m.NewFrom != m.From {
		out = append(out, milter.Change{Kind: milter.ChangeFrom, Addr: *m.NewFrom, Args: m.FromArgs})
	}
	for _, r := range m.Rcpts {
		if m.IsRemoved(r.Addr) {
			out = append(out, milter.Change{Kind: milter.DelRcpt, Addr: r.Addr})
		}
	}
	for _, r := range m.Added {
		if !m.IsRemoved(r.Addr) {
			out = append(out, milter.Change{Kind: milter.AddRcpt, Addr: r.Addr, Args: r.Args})
		}
	}
	if m.Quarantine != "" {
		out = append(out, milter.Change{Kind: milter.Quarantine, Reason: m.Quarantine})
	}
	if err := m.FlushTree(); err != nil {
		m.logger().Error("edited MIME tree could not be written; body left unchanged", "err", err)
	}
	if body := m.NewBody; body != nil && !m.sameBody(body) {
		// The spool streams from memory or its file; it lives until the
		// message is closed, after the MTA has been sent the body.
		out = append(out, milter.Change{Kind: milter.ReplaceBody, BodySize: body.Size(), Body: func() (io.ReadCloser, error) {
			rc, err := body.Open()
			if err != nil {
				return nil, err
			}
			return releaser{rc, m.ReleaseSpools}, nil
		}})
	}
	return out
}

// sameBody reports whether the replacement equals the received body, so a
// script writing back what it read costs no body replacement.
func (m *Message) sameBody(b *milter.Spool) bool {
	if m.Body == nil {
		return b.Size() == 0
	}
	same, err := SameSpools(m.Body, b)
	if err != nil {
		m.logger().Warn("body comparison failed; replacing the body", "err", err)
		return false
	}
	return same
}

// headerChanges diffs m.headers against m.orig. Changes and deletions
// of received fields use ChangeHeader with the per-name index, from the
// last field to the first so earlier indexes stay valid. Fields added at
// the top are inserted at index 0.., the others appended at the end.
func (m *Message) headerChanges() []milter.Change {
	if m.headersUnedited() {
		return nil
	}
	final := make([]*Field, len(m.Orig)) // received field i as edited; nil once deleted
	firstOrig := len(m.Headers)
	for i := range m.Headers {
		if h := &m.Headers[i]; h.Orig >= 0 {
			final[h.Orig] = h
			firstOrig = min(firstOrig, i)
		}
	}
	var out []milter.Change
	var perName []int // built only when a received field changed
	for i := len(m.Orig) - 1; i >= 0; i-- {
		o, h := m.Orig[i], final[i]
		value := ""
		switch {
		case h == nil:
		case !SameValue(h.Value, o.Value):
			value = h.Value
		default:
			continue
		}
		if perName == nil {
			perName = perNameIndexes(m.Orig)
		}
		out = append(out, milter.Change{Kind: milter.ChangeHeader, Name: o.Name, Index: perName[i], Value: value})
	}
	top := 0
	for i, h := range m.Headers {
		if h.Orig >= 0 {
			continue
		}
		if i < firstOrig {
			out = append(out, milter.Change{Kind: milter.InsertHeader, Name: h.Name, Value: h.Value, Index: top})
			top++
		} else {
			out = append(out, milter.Change{Kind: milter.InsertHeader, Name: h.Name, Value: h.Value, Index: appendIndex})
		}
	}
	return out
}

// headersUnedited reports whether the header list is still the received
// one, so the common untouched message costs no diff at all.
func (m *Message) headersUnedited() bool {
	if len(m.Headers) != len(m.Orig) {
		return false
	}
	for i, h := range m.Headers {
		if h.Orig != i || !SameValue(h.Value, m.Orig[i].Value) {
			return false
		}
	}
	return true
}

// perNameIndexes gives each field its 1-based index among the fields of
// the same name, as SMFIR_CHGHEADER counts them.
func perNameIndexes(hs []milter.Header) []int {
	perName := make([]int, len(hs))
	counts := map[string]int{}
	for i, h := range hs {
		key := strings.ToLower(h.Name)
		counts[key]++
		perName[i] = counts[key]
	}
	return perName
}

// SameValue compares raw header values ignoring the whitespace after the
// colon, which MTAs send or strip depending on SMFIP_HDR_LEADSPC.
func SameValue(a, b string) bool {
	return strings.TrimLeft(a, " \t") == strings.TrimLeft(b, " \t")
}

// releaser removes the message's replacement bodies once the MTA has been
// sent the new body, instead of when the message closes.
type releaser struct {
	io.ReadCloser
	release func()
}

// Close closes the body and removes the spools.
func (r releaser) Close() error {
	err := r.ReadCloser.Close()
	r.release()
	return err
}
