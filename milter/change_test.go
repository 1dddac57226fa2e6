package milter

import (
	"testing"

	gomilter "github.com/d--j/go-milter"
)

// TestChangeFormat pins both renderings of each kind: String for logs
// and recording diffs, Plain for `luamilter test`, whose expectations
// people write by hand.
func TestChangeFormat(t *testing.T) {
	tests := []struct {
		c            Change
		quoted, text string
	}{
		{Change{Kind: AddHeader, Name: "X-A", Value: " v"}, `add_header X-A: " v"`, "add_header X-A: v"},
		{Change{Kind: InsertHeader, Name: "X-A", Value: " a\r\n b", Index: 0}, `insert_header 0 X-A: " a\r\n b"`, "insert_header 0 X-A: a\r\n b"},
		{Change{Kind: ChangeHeader, Name: "Subject", Value: " new", Index: 2}, `change_header Subject[2]: " new"`, "change_header Subject[2]: new"},
		{Change{Kind: ChangeHeader, Name: "Subject", Index: 1}, "delete_header Subject[1]", "delete_header Subject[1]"},
		{Change{Kind: AddRcpt, Addr: "a@example.com"}, "add_rcpt <a@example.com>", "add_rcpt <a@example.com>"},
		{Change{Kind: AddRcpt, Addr: "a@example.com", Args: "NOTIFY=NEVER"}, `add_rcpt <a@example.com> "NOTIFY=NEVER"`, "add_rcpt <a@example.com> NOTIFY=NEVER"},
		{Change{Kind: DelRcpt, Addr: "b@example.com"}, "del_rcpt <b@example.com>", "del_rcpt <b@example.com>"},
		{Change{Kind: ChangeFrom, Addr: ""}, "change_from <>", "change_from <>"},
		{Change{Kind: ChangeFrom, Addr: "s@example.org", Args: "SIZE=100"}, `change_from <s@example.org> "SIZE=100"`, "change_from <s@example.org> SIZE=100"},
		{Change{Kind: ReplaceBody, BodySize: 42}, "replace_body 42 bytes", "replace_body 42 bytes"},
		{Change{Kind: Quarantine, Reason: "held"}, `quarantine "held"`, `quarantine "held"`},
	}
	for _, tc := range tests {
		if got := tc.c.String(); got != tc.quoted {
			t.Errorf("String() = %q, want %q", got, tc.quoted)
		}
		if got := tc.c.Plain(); got != tc.text {
			t.Errorf("Plain() = %q, want %q", got, tc.text)
		}
	}
}

func TestChangeKindNames(t *testing.T) {
	seen := map[string]bool{}
	for k := AddHeader; k <= Quarantine; k++ {
		name := k.String()
		if seen[name] {
			t.Errorf("two kinds named %q", name)
		}
		seen[name] = true
		if got, ok := ParseChangeKind(name); !ok || got != k {
			t.Errorf("ParseChangeKind(%q) = %v, %v; want %v", name, got, ok, k)
		}
	}
	if _, ok := ParseChangeKind("delete_header"); ok {
		t.Error("delete_header is a rendering of change_header, not a kind")
	}
}

// TestDescribeIsPlain checks that the test client renders what the MTA
// got in Change's own layout, the chunked body aside.
func TestDescribeIsPlain(t *testing.T) {
	tests := []struct {
		m    gomilter.ModifyAction
		want string
	}{
		{gomilter.ModifyAction{Type: gomilter.ActionAddRcpt, Rcpt: "<a@example.com>"}, "add_rcpt <a@example.com>"},
		{gomilter.ModifyAction{Type: gomilter.ActionDelRcpt, Rcpt: "<a@example.com>"}, "del_rcpt <a@example.com>"},
		{gomilter.ModifyAction{Type: gomilter.ActionChangeFrom, From: "<>"}, "change_from <>"},
		{gomilter.ModifyAction{Type: gomilter.ActionInsertHeader, HeaderIndex: 65536, HeaderName: "X-Tag", HeaderValue: " live"}, "insert_header 65536 X-Tag: live"},
		{gomilter.ModifyAction{Type: gomilter.ActionChangeHeader, HeaderIndex: 1, HeaderName: "To"}, "delete_header To[1]"},
		{gomilter.ModifyAction{Type: gomilter.ActionAddHeader, HeaderName: "X-A", HeaderValue: " 1"}, "add_header X-A: 1"},
		{gomilter.ModifyAction{Type: gomilter.ActionQuarantine, Reason: "held for review"}, `quarantine "held for review"`},
		{gomilter.ModifyAction{Type: gomilter.ActionReplaceBody, Body: []byte("x\r\n")}, `replace_body "x\r\n"`},
	}
	for _, tc := range tests {
		if got := describe(tc.m); got != tc.want {
			t.Errorf("describe(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
