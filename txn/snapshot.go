package txn

import (
	"maps"
	"slices"

	"github.com/luamilter/luamilter/milter"
)

// Edits is a snapshot of everything an edit can change in a message:
// envelope, header fields, body, discard and quarantine. A field added
// to Message that scripts can edit belongs here too, or a dry run would
// leak that edit to the MTA.
type Edits struct {
	newFrom       *string
	added         []Rcpt
	removed       map[string]bool
	headers       []Field
	body          BodyEdit
	discard       bool
	discardReason string
	quarantine    string
	priority      int
}

// Snapshot returns the message's edits, to undo later ones with Restore.
// An edited MIME tree is written into the body first.
func (m *Message) Snapshot() Edits {
	return Edits{newFrom: m.NewFrom, added: slices.Clone(m.Added), removed: maps.Clone(m.Removed),
		headers: slices.Clone(m.Headers), body: m.SaveBody(), discard: m.Discard,
		discardReason: m.DiscardReason, quarantine: m.Quarantine, priority: m.Priority}
}

// Restore puts the message back to a snapshot.
func (m *Message) Restore(e Edits) {
	m.NewFrom, m.Added, m.Removed, m.Headers = e.newFrom, slices.Clone(e.added), maps.Clone(e.removed), slices.Clone(e.headers)
	m.RestoreBody(e.body)
	m.Discard, m.DiscardReason, m.Quarantine, m.Priority = e.discard, e.discardReason, e.quarantine, e.priority
}

// Discarded reports whether the snapshot's message was discarded and why.
func (e Edits) Discarded() (bool, string) { return e.discard, e.discardReason }

// ChangesAt returns the milter changes the message would send with the
// edits of e, leaving the message as it was.
func (m *Message) ChangesAt(e Edits) []milter.Change {
	now := m.Snapshot()
	m.Restore(e)
	out := m.Changes()
	m.Restore(now)
	return out
}
