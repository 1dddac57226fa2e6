package e2e

import (
	"strings"
	"testing"
)

// TestSeveralMessagesAndRset sends three transactions on one connection —
// delivered, rejected at end of data, aborted with RSET — and a fourth that
// must see neither the recipients nor the verdict of the earlier ones,
// while per-session state (self) keeps counting.
func TestSeveralMessagesAndRset(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{sessionPolicy}})
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		id := uniq()
		a := "a+" + id + "@example.com"
		b := "b+" + id + "@example.com"
		cc := "c+" + id + "@example.com"
		d := "d+" + id + "@example.com"
		c := dialSMTP(t, m)
		c.expect("EHLO client.test", 250)

		first := c.send(txn{from: "first+" + id + "@example.org", rcpts: []string{a},
			msg: message("first@example.org", a, "one", nil, "one\n")})
		if first.final.code != 250 {
			t.Fatalf("first message: %q", first.last())
		}
		second := c.send(txn{from: "reject-eom+" + id + "@example.org", rcpts: []string{b},
			msg: message("second@example.org", b, "two", nil, "two\n")})
		if second.final.code != 550 {
			t.Fatalf("second message: %q, want 550", second.last())
		}
		c.expect("MAIL FROM:<aborted+"+id+"@example.org>", 250)
		c.expect("RCPT TO:<"+cc+">", 250)
		c.expect("RSET", 250)
		fourth := c.send(txn{from: "fourth+" + id + "@example.org", rcpts: []string{d},
			msg: message("fourth@example.org", d, "four", nil, "four\n")})
		if fourth.final.code != 250 {
			t.Fatalf("fourth message: %q", fourth.last())
		}
		c.expect("QUIT", 221)

		// The policy reads no body, so luamilter does not ask for it
		// (SMFIP_NOBODY); the MTA must still deliver it untouched.
		checks := []struct {
			rcpt, seq, from, rcpts, body string
		}{
			{a, "1", "first+" + id + "@example.org", a, "one"},
			{d, "2", "fourth+" + id + "@example.org", d, "four"},
		}
		for _, ck := range checks {
			dl := m.waitDelivery(t, ck.rcpt)
			checkHeader(t, dl, "X-E2E-Seq", []string{ck.seq})
			checkHeader(t, dl, "X-E2E-From", []string{ck.from})
			if got := strings.TrimSpace(dl.Header.Get("X-E2E-Rcpts")); got != ck.rcpts {
				t.Errorf("%s: policy saw recipients %q, want %q", ck.rcpt, got, ck.rcpts)
			}
			if got := strings.TrimSpace(dl.Body); got != ck.body {
				t.Errorf("%s: delivered body %q, want %q", ck.rcpt, got, ck.body)
			}
		}
		m.assertNotDelivered(t, b)
		m.assertNotDelivered(t, cc)
	})
}
