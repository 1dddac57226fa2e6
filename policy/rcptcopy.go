package policy

import (
	"maps"

	"github.com/luamilter/luamilter/txn"
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

// copyFor returns the message object of one recipient's copy of m.
func (m *message) copyFor(addr string) *message {
	c := &message{Message: m.Message.CopyFor(addr), s: m.s, detached: m.detached}
	c.Owner = c
	return c
}

// mergeCopies folds the remaining recipients' copies into m (see
// txn.Message.Merge) and returns what could not be applied because the
// copies differ.
func (m *message) mergeCopies(copies []*rcptCopy) (differ []string) {
	var live []*txn.Message
	for _, c := range copies {
		if !c.dropped {
			c.msg.quarantineFrom(c.mess)
			live = append(live, c.msg.Message)
		}
	}
	return m.Merge(live)
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
