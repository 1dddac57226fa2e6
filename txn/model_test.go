package txn

import (
	"io"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/milter"
)

// received returns a message as it arrives at end of message.
func received(t *testing.T) *Message {
	t.Helper()
	body := milter.NewSpool("", 1<<20, 0)
	if _, err := io.WriteString(body, "hello\r\n"); err != nil {
		t.Fatal(err)
	}
	m := New("a@example.org", "")
	m.AddAccepted("b@example.com", "")
	m.AddAccepted("c@example.com", "")
	m.Load(&milter.Message{Headers: []milter.Header{
		{Name: "Subject", Value: " hi"}, {Name: "X-A", Value: " 1"}, {Name: "X-A", Value: " 2"},
	}, Body: body})
	t.Cleanup(m.Close)
	return m
}

func changeList(cs []milter.Change) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return strings.Join(out, "; ")
}

func TestChanges(t *testing.T) {
	cases := []struct {
		name string
		edit func(m *Message)
		want string
	}{
		{"untouched", func(*Message) {}, ""},
		{"same value, other spacing", func(m *Message) { m.SetHeader("Subject", []string{"hi"}, "replace") }, ""},
		{"change the second of two", func(m *Message) { m.SetHeader("X-A", []string{" 1", " two"}, "replace") },
			`change_header X-A[2]: " two"`},
		{"delete all of a name", func(m *Message) { m.SetHeader("X-A", nil, "replace") },
			`delete_header X-A[2]; delete_header X-A[1]`},
		{"prepend and append", func(m *Message) {
			m.SetHeader("X-Top", []string{" t"}, "prepend")
			m.SetHeader("X-End", []string{" e"}, "append")
		}, `insert_header 0 X-Top: " t"; insert_header 65536 X-End: " e"`},
		{"envelope", func(m *Message) {
			m.RemoveRecipient("B@example.com")
			m.AddRecipient("d@example.com")
			from := "new@example.org"
			m.NewFrom = &from
		}, "change_from <new@example.org>; del_rcpt <b@example.com>; add_rcpt <d@example.com>"},
		{"same body written back", func(m *Message) {
			if err := m.SetBody("hello\r\n"); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"new body", func(m *Message) {
			if err := m.SetBody("bye\r\n"); err != nil {
				t.Fatal(err)
			}
		}, "replace_body 5 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := received(t)
			tc.edit(m)
			if got := changeList(m.Changes()); got != tc.want {
				t.Fatalf("changes\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestSnapshotRestore: every edit made after a snapshot is undone by
// Restore, so a dry run can't leak one.
func TestSnapshotRestore(t *testing.T) {
	m := received(t)
	m.SetHeader("X-Before", []string{" kept"}, "append")
	snap := m.Snapshot()
	want := changeList(m.Changes())
	m.SetHeader("Subject", []string{" other"}, "replace")
	m.RemoveRecipient("c@example.com")
	m.AddRecipient("x@example.com")
	if err := m.SetBody("edited\r\n"); err != nil {
		t.Fatal(err)
	}
	m.Discard, m.Quarantine, m.Priority = true, "held", 1
	if got := changeList(m.ChangesAt(snap)); got != want {
		t.Fatalf("ChangesAt(snapshot) = %s, want %s", got, want)
	}
	m.Restore(snap)
	if got := changeList(m.Changes()); got != want || m.Discard || m.Quarantine != "" || m.Priority != 0 {
		t.Fatalf("after Restore: %s (discard %v quarantine %q priority %d), want %s", got, m.Discard, m.Quarantine, m.Priority, want)
	}
}

func TestMerge(t *testing.T) {
	cases := []struct {
		name   string
		edits  []func(c *Message)
		want   string
		differ string
	}{
		{"nothing edited", []func(*Message){func(*Message) {}, func(*Message) {}}, "", ""},
		{"same header for all", []func(*Message){
			func(c *Message) { c.SetHeader("X-S", []string{" y"}, "append") },
			func(c *Message) { c.SetHeader("X-S", []string{" y"}, "append") },
		}, `insert_header 65536 X-S: " y"`, ""},
		{"header differs", []func(*Message){
			func(c *Message) { c.SetHeader("X-R", []string{" " + c.Current}, "append") },
			func(c *Message) { c.SetHeader("X-R", []string{" " + c.Current}, "append") },
		}, "", "X-R"},
		{"one copy deletes a received field", []func(*Message){
			func(c *Message) { c.SetHeader("Subject", nil, "replace") },
			func(*Message) {},
		}, "", "Subject"},
		{"recipient edits all apply", []func(*Message){
			func(c *Message) { c.RemoveRecipient(c.Current); c.AddRecipient("new-b@example.com") },
			func(*Message) {},
		}, "del_rcpt <b@example.com>; add_rcpt <new-b@example.com>", ""},
		{"same body", []func(*Message){
			func(c *Message) { _ = c.SetBody("x\r\n") },
			func(c *Message) { _ = c.SetBody("x\r\n") },
		}, "replace_body 3 bytes", ""},
		{"body differs", []func(*Message){
			func(c *Message) { _ = c.SetBody(c.Current + "\r\n") },
			func(*Message) {},
		}, "", "body"},
		{"quarantine in one copy", []func(*Message){
			func(c *Message) { c.Quarantine = "held" },
			func(*Message) {},
		}, `quarantine "held"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := received(t)
			var copies []*Message
			for i, r := range m.Recipients() {
				c := m.CopyFor(r.Addr)
				tc.edits[i](c)
				copies = append(copies, c)
			}
			differ := m.Merge(copies)
			for _, c := range copies {
				m.AdoptSpools(c)
			}
			if got := strings.Join(differ, ","); got != tc.differ {
				t.Errorf("differ %q, want %q", got, tc.differ)
			}
			if got := changeList(m.Changes()); got != tc.want {
				t.Fatalf("changes\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestMergeRecipients: each copy's recipient edits apply, and only what
// the copy itself changed: a copy carries the recipient edits made before
// it was taken, and those must not undo another copy's.
func TestMergeRecipients(t *testing.T) {
	cases := []struct {
		name   string
		before func(m *Message) // edits of the whole message before the copies
		edits  map[string]func(c *Message)
		want   string
	}{
		{"a copy removes a recipient added before the copies",
			func(m *Message) { m.AddRecipient("d@example.com") },
			map[string]func(*Message){"b@example.com": func(c *Message) { c.RemoveRecipient("d@example.com") }},
			""},
		{"a recipient added before stays added",
			func(m *Message) { m.AddRecipient("d@example.com") },
			nil,
			"add_rcpt <d@example.com>"},
		{"a copy re-adds a recipient removed before the copies",
			func(m *Message) { m.RemoveRecipient("c@example.com") },
			map[string]func(*Message){"b@example.com": func(c *Message) { c.AddRecipient("c@example.com") }},
			""},
		{"a recipient removed before stays removed",
			func(m *Message) { m.RemoveRecipient("c@example.com") },
			nil,
			"del_rcpt <c@example.com>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := received(t)
			tc.before(m)
			var copies []*Message
			for _, r := range m.Recipients() {
				c := m.CopyFor(r.Addr)
				if edit := tc.edits[r.Addr]; edit != nil {
					edit(c)
				}
				copies = append(copies, c)
			}
			m.Merge(copies)
			for _, c := range copies {
				m.AdoptSpools(c)
			}
			if got := changeList(m.Changes()); got != tc.want {
				t.Fatalf("changes\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestMergeKeepsFieldOrder: when the copies differ on a field added
// before they were made, the merged list keeps the fields in the order
// the edits made them, above and below the received ones.
func TestMergeKeepsFieldOrder(t *testing.T) {
	cases := []struct {
		name string
		base func(m *Message)
		edit func(c *Message)
		want string
	}{
		{"appended before, appended by the copies", func(m *Message) { m.SetHeader("X-Pre", []string{" p"}, "append") },
			func(c *Message) {
				c.SetHeader("X-Pre", []string{" " + c.Current}, "replace")
				c.SetHeader("X-S", []string{" s"}, "append")
			}, `insert_header 65536 X-Pre: " p"; insert_header 65536 X-S: " s"`},
		{"prepended before, prepended by the copies", func(m *Message) { m.SetHeader("X-Pre", []string{" p"}, "prepend") },
			func(c *Message) {
				c.SetHeader("X-Pre", []string{" " + c.Current}, "replace")
				c.SetHeader("X-S", []string{" s"}, "prepend")
			}, `insert_header 0 X-S: " s"; insert_header 1 X-Pre: " p"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := received(t)
			tc.base(m)
			var copies []*Message
			for _, r := range m.Recipients() {
				c := m.CopyFor(r.Addr)
				tc.edit(c)
				copies = append(copies, c)
			}
			if differ := m.Merge(copies); strings.Join(differ, ",") != "X-Pre" {
				t.Fatalf("differ %v", differ)
			}
			if got := changeList(m.Changes()); got != tc.want {
				t.Fatalf("changes\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
