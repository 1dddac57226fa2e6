package e2e

import (
	"slices"
	"strings"
	"testing"
)

// verdictCase is one policy verdict checked on a fresh SMTP session.
type verdictCase struct {
	name   string
	ehlo   string   // EHLO argument; "" means client.test
	from   string   // sender local part (a unique suffix is appended)
	stage  string   // "ehlo", "mail", "rcpt", "data" or "eom"
	want   []string // expected reply lines, verbatim
	closed bool     // the MTA must close the connection after the reply
}

func TestVerdictsVerbatim(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{verdictPolicy}})
	cases := []verdictCase{
		{name: "ehlo reject", ehlo: "reject-ehlo.client.test", stage: "ehlo",
			want: []string{"550 5.7.1 ehlo refused by policy"}},
		{name: "mail reject", from: "reject-mail", stage: "mail",
			want: []string{"553 5.7.1 sender refused by policy"}},
		{name: "mail tempfail", from: "tempfail-mail", stage: "mail",
			want: []string{"451 4.7.1 sender greylisted, try later"}},
		{name: "mail multi-line", from: "multiline-mail", stage: "mail",
			want: []string{"550-5.7.1 first line", "550-5.7.1 second line", "550 5.7.1 third line"}},
		{name: "mail disconnect", from: "disconnect-mail", stage: "mail",
			want: []string{"421 4.7.0 closing by policy"}, closed: true},
		{name: "data reject", from: "reject-data", stage: "data",
			want: []string{"554 5.7.1 data refused by policy"}},
		{name: "eom reject", from: "reject-eom", stage: "eom",
			want: []string{"550 5.7.1 content refused by policy"}},
		{name: "eom tempfail", from: "tempfail-eom", stage: "eom",
			want: []string{"451 4.7.1 content scan unavailable"}},
		{name: "eom disconnect", from: "disconnect-eom", stage: "eom",
			want: []string{"421 4.7.0 closing after content"}, closed: true},
	}
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		for _, tc := range cases {
			t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
				runVerdictCase(t, m, tc)
			})
		}
	})
}

func runVerdictCase(t *testing.T, m *mta, tc verdictCase) {
	id := uniq()
	rcpt := "rcpt+" + id + "@example.com"
	c := dialSMTP(t, m)
	if c.greeting.code != 220 {
		t.Fatalf("greeting %q", c.greeting)
	}
	ehlo := tc.ehlo
	if ehlo == "" {
		ehlo = "client.test"
	}
	var got reply
	r := c.mustCmd("EHLO " + ehlo)
	if tc.stage == "ehlo" {
		got = r
	} else {
		if r.code != 250 {
			t.Fatalf("EHLO: %q", r)
		}
		res := c.send(txn{
			from:  tc.from + "+" + id + "@example.org",
			rcpts: []string{rcpt},
			msg:   message(tc.from+"@example.org", rcpt, "verdict "+tc.name, nil, "hello\n"),
		})
		switch tc.stage {
		case "mail":
			got = res.mail
		case "data":
			got = res.data
		case "eom":
			got = res.final
		}
	}
	want := m.expectReply(tc.stage, tc.from+"+"+id+"@example.org", tc.want)
	if !slices.Equal(got.lines, want) {
		t.Errorf("%s reply:\n got %q\nwant %q", tc.stage, got.lines, want)
	}
	if tc.closed {
		if !c.closedByPeer() {
			t.Errorf("connection still open after %q", got)
		}
	} else if r, err := c.cmd("QUIT"); err != nil || r.code != 221 {
		t.Errorf("QUIT: %q %v", r, err)
	}
	if got.class() != 2 {
		m.assertNotDelivered(t, rcpt)
	}
}

// expectReply maps the reply a milter sets to what the MTA sends at stage
// for the address of that command. Postfix passes milter replies through
// unchanged. Sendmail inserts "<address>... " after the enhanced status
// code of the first line of MAIL and RCPT replies (TestMTAReplyPassThrough
// shows it with a plain go-milter milter).
func (m *mta) expectReply(stage, address string, lines []string) []string {
	if m.name != "sendmail" || (stage != "mail" && stage != "rcpt") || len(lines) == 0 {
		return lines
	}
	out := slices.Clone(lines)
	if len(out[0]) > 4 {
		// "550 5.1.1 text" or "550-5.1.1 text"
		if enh, text, ok := strings.Cut(out[0][4:], " "); ok && isEnhancedCode(enh) {
			out[0] = out[0][:4] + enh + " <" + address + ">... " + text
		}
	}
	return out
}

func isEnhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func TestRecipientRejectOthersDelivered(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{verdictPolicy}})
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		id := uniq()
		ok1 := "first+" + id + "@example.com"
		bad := "reject-rcpt+" + id + "@example.com"
		busy := "tempfail-rcpt+" + id + "@example.com"
		ok2 := "second+" + id + "@example.net"
		c := dialSMTP(t, m)
		c.expect("EHLO client.test", 250)
		res := c.send(txn{
			from:  "sender+" + id + "@example.org",
			rcpts: []string{ok1, bad, busy, ok2},
			msg:   message("sender@example.org", ok1, "partial", nil, "for some\n"),
		})
		wantRcpt := [][]string{
			nil, // accepted: any 250 text
			m.expectReply("rcpt", bad, []string{"550 5.1.1 no such user here"}),
			m.expectReply("rcpt", busy, []string{"450 4.2.1 mailbox busy"}),
			nil,
		}
		if len(res.rcpts) != 4 {
			t.Fatalf("RCPT replies: %v (MAIL %q)", res.rcpts, res.mail)
		}
		for i, w := range wantRcpt {
			got := res.rcpts[i]
			if w == nil {
				if got.code != 250 {
					t.Errorf("RCPT %d: %q, want 250", i, got)
				}
			} else if !slices.Equal(got.lines, w) {
				t.Errorf("RCPT %d:\n got %q\nwant %q", i, got.lines, w)
			}
		}
		if res.final.code != 250 {
			t.Fatalf("end of data: %q", res.final)
		}
		m.waitDelivery(t, ok1)
		m.waitDelivery(t, ok2)
		m.assertNotDelivered(t, bad)
		m.assertNotDelivered(t, busy)
	})
}

func TestDiscardAtEndOfMessage(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{verdictPolicy}})
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		id := uniq()
		gone := "gone+" + id + "@example.com"
		c := dialSMTP(t, m)
		c.expect("EHLO client.test", 250)
		res := c.send(txn{
			from:  "discard-eom+" + id + "@example.org",
			rcpts: []string{gone},
			msg:   message("discard@example.org", gone, "discard me", nil, "bye\n"),
		})
		// The client sees success; the MTA drops the message.
		if res.final.code != 250 {
			t.Fatalf("end of data: %q, want 250", res.final)
		}
		// A later message on the same connection is delivered, after which
		// the discarded one can no longer show up.
		next := "next+" + id + "@example.com"
		res = c.send(txn{
			from:  "sender+" + id + "@example.org",
			rcpts: []string{next},
			msg:   message("sender@example.org", next, "after discard", nil, "hi\n"),
		})
		if res.final.code != 250 {
			t.Fatalf("second message: %q", res.final)
		}
		m.waitDelivery(t, next)
		m.assertNotDelivered(t, gone)
		if q := m.queueListing(t); strings.Contains(q, gone) {
			t.Errorf("discarded message queued:\n%s", q)
		}
	})
}

func TestConnectVerdicts(t *testing.T) {
	s := requireBinary(t)
	cases := []struct {
		name   string
		policy string
		want   []string
		closed bool
	}{
		{"reject", connectRejectPolicy, []string{"554 5.7.1 connection refused by policy"}, false},
		{"disconnect", connectDisconnectPolicy, []string{"421 4.7.0 too busy, come back later"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			startMilter(t, s, milterOpts{scripts: []string{tc.policy}})
			forEachMTA(t, s, func(t *testing.T, m *mta) {
				c := dialSMTP(t, m)
				// MTAs report a connect-stage verdict either instead of the
				// greeting or in reply to the following commands.
				got := c.greeting
				closedAt := ""
				for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<s@example.org>"} {
					if got.class() != 2 {
						break
					}
					r, err := c.cmd(cmd)
					if err != nil {
						closedAt = cmd
						break
					}
					got = r
				}
				t.Logf("%s: greeting %q, verdict %q", m.name, c.greeting, got)
				want := tc.want
				if !slices.Equal(got.lines, want) {
					t.Errorf("connect verdict:\n got %q (connection closed at %q)\nwant %q", got.lines, closedAt, want)
				}
				if tc.closed && closedAt == "" && !c.closedByPeer() {
					t.Errorf("connection still open after %q", got)
				}
			})
		})
	}
}
