package hdrblock

import (
	"reflect"
	"testing"
)

// TestSplit covers where the copies this package replaced disagreed: the
// test client (Postfix's rules), txn.ReadHeaderFields (go-message, which
// dropped everything after a bad line and skipped empty names) and
// msg:raw(new) (which kept blanks in names and skipped lines without a
// colon but went on reading fields).
func TestSplit(t *testing.T) {
	f := func(kv ...string) []Field {
		var out []Field
		for i := 0; i < len(kv); i += 2 {
			out = append(out, Field{kv[i], kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name   string
		raw    string
		fields []Field
		body   string
	}{
		{"plain", "Subject: hi\r\nTo: a@b\r\n\r\nbody\r\n", f("Subject", " hi", "To", " a@b"), "body\r\n"},
		{"LF line ends", "Subject: hi\n\nbody\n", f("Subject", " hi"), "body\n"},
		{"mixed line ends", "A: 1\r\nB: 2\n\r\nbody", f("A", " 1", "B", " 2"), "body"},
		{"blank before colon", "Name : value\r\n\r\n", f("Name", " value"), ""},
		{"tab before colon", "Name\t: value\r\n\r\n", f("Name", " value"), ""},
		{"no space after colon", "Name:value\r\n\r\n", f("Name", "value"), ""},
		{"empty value", "Name:\r\n\r\n", f("Name", ""), ""},
		{"continuation lines", "A: 1\r\n 2\r\n\t3\r\nB: 4\r\n\r\n", f("A", " 1\r\n 2\r\n\t3", "B", " 4"), ""},
		{"folded with LF", "A: 1\n 2\n\n", f("A", " 1\r\n 2"), ""},
		{"no colon ends the block", "A: 1\r\nno header here\r\nB: 2\r\n\r\nbody", f("A", " 1"), "no header here\r\nB: 2\r\n\r\nbody"},
		{"space in the name ends the block", "A: 1\r\nNa me: 2\r\n\r\n", f("A", " 1"), "Na me: 2\r\n\r\n"},
		{"8-bit name ends the block", "A: 1\r\nN\xe4me: 2\r\n\r\n", f("A", " 1"), "N\xe4me: 2\r\n\r\n"},
		{"8-bit value is kept", "A: \xe4\r\n\r\n", f("A", " \xe4"), ""},
		{"control byte in the name", "A\x01: 1\r\n\r\n", nil, "A\x01: 1\r\n\r\n"},
		{"empty name", ": value\r\n\r\nbody", nil, ": value\r\n\r\nbody"},
		{"continuation first", " folded\r\nA: 1\r\n\r\n", nil, " folded\r\nA: 1\r\n\r\n"},
		{"mbox From line", "From a@b Mon Jan  1 00:00:00 2024\nA: 1\n\n", nil, "From a@b Mon Jan  1 00:00:00 2024\nA: 1\n\n"},
		{"header only, no blank line", "A: 1\r\n", f("A", " 1"), ""},
		{"last line without a line end", "A: 1", f("A", " 1"), ""},
		{"empty", "", nil, ""},
		{"blank line only", "\r\nbody", nil, "body"},
		{"colon in the value", "A: b: c\r\n\r\n", f("A", " b: c"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields, off := Split(tc.raw)
			if !reflect.DeepEqual(fields, tc.fields) || tc.raw[off:] != tc.body {
				t.Fatalf("got %q, body %q\nwant %q, body %q", fields, tc.raw[off:], tc.fields, tc.body)
			}
			bf, boff := Split([]byte(tc.raw))
			if !reflect.DeepEqual(bf, fields) || boff != off {
				t.Fatalf("bytes: got %q at %d, strings %q at %d", bf, boff, fields, off)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"Subject": true, "X-A_b.c": true, "": false, "Na me": false, "Name:": false,
		"N\xe4me": false, "Name\t": false, "A\x7f": false, "~!": true,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}
