package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestVerdictsVerbatim checks that policy verdicts reach the SMTP client
// with code, enhanced code and text as the script set them, at every stage.
func TestVerdictsVerbatim(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{verdictPolicy}})
	cases := []replyCase{
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
				got, address, closed := runReplyCase(t, m, tc)
				if want := m.expectReply(tc.stage, address, tc.want); !slices.Equal(got.lines, want) {
					t.Errorf("reply\n got %q\nwant %q", got.lines, want)
				}
				if tc.closed != closed {
					t.Errorf("connection closed = %v, want %v", closed, tc.closed)
				}
			})
		}
	})
}

// expectReply maps the reply a milter sets to what the MTA sends at stage
// for the address of that command. Postfix passes milter replies through
// unchanged. Sendmail inserts "<address>... " after the enhanced status
// code of the first line of RCPT replies and of 5xx MAIL replies, not of
// 4xx MAIL replies (TestMTAReplyPassThrough shows it with a plain go-milter
// milter).
func (m *mta) expectReply(stage, address string, lines []string) []string {
	if m.name != "sendmail" || len(lines) == 0 {
		return lines
	}
	switch {
	case stage == "rcpt":
	case stage == "mail" && strings.HasPrefix(lines[0], "5"):
	default:
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

// TestRecipientRejectOthersDelivered rejects and tempfails some recipients
// of a message; the others must still get it.
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

// TestDiscardAtEndOfMessage checks msg:discard(): the client sees success,
// nothing is queued or delivered.
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

// TestConnectVerdicts rejects and disconnects at connect. Both MTAs answer
// with their own text (see connectReply), so only the code class and the
// closing of the session come from the policy.
func TestConnectVerdicts(t *testing.T) {
	s := requireBinary(t)
	cases := []struct {
		name   string
		policy string
		code   int
	}{
		{"reject", connectRejectPolicy, 554},
		{"disconnect", connectDisconnectPolicy, 421},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			startMilter(t, s, milterOpts{scripts: []string{tc.policy}})
			forEachMTA(t, s, func(t *testing.T, m *mta) {
				got, closed := connectVerdict(t, m)
				if want := m.connectReply(tc.code); !slices.Equal(got.lines, want) {
					t.Errorf("connect verdict\n got %q\nwant %q", got.lines, want)
				}
				if wantClosed := tc.code == 421; closed != wantClosed {
					t.Errorf("connection closed = %v, want %v", closed, wantClosed)
				}
			})
		})
	}
}

// connectVerdict returns the first non-2xx reply of a session (greeting,
// EHLO or MAIL) and whether the MTA then closed the connection. MTAs may
// report a connect-stage verdict instead of the greeting or in reply to
// the following commands.
func connectVerdict(t *testing.T, m *mta) (reply, bool) {
	t.Helper()
	c := dialSMTP(t, m)
	got := c.greeting
	for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<s@example.org>"} {
		if got.class() != 2 {
			break
		}
		r, err := c.cmd(cmd)
		if err != nil {
			return got, true
		}
		got = r
	}
	return got, c.closed(got.code == 421)
}

// connectReply is what the MTA answers when a milter rejects at connect
// with code: both MTAs use their own text, not the milter's
// (TestMTAConnectReplies shows it with a plain go-milter milter).
func (m *mta) connectReply(code int) []string {
	host := m.name + ".harness.test"
	switch {
	case m.name == "postfix" && code/100 == 5:
		return []string{"554 " + host + " ESMTP not accepting connections"}
	case m.name == "postfix":
		return []string{"421 " + host + " Service unavailable - try again later"}
	case code/100 == 5:
		return []string{"554 " + host + " ESMTP not accepting messages"}
	default:
		return []string{"421 4.7.0 " + host + " closing connection"}
	}
}
