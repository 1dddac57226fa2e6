package e2e

import (
	"slices"
	"testing"
)

// TestScriptErrorAction checks that a Lua runtime error yields the
// configured --on-error action, at MAIL and at end of data.
func TestScriptErrorAction(t *testing.T) {
	s := requireBinary(t)
	for _, action := range []string{"tempfail", "reject", "accept"} {
		t.Run(action, func(t *testing.T) {
			startMilter(t, s, milterOpts{scripts: []string{errorPolicy}, onError: action})
			wantClass := map[string]int{"tempfail": 4, "reject": 5, "accept": 2}[action]
			forEachMTA(t, s, func(t *testing.T, m *mta) {
				id := uniq()
				c := dialSMTP(t, m)
				c.expect("EHLO client.test", 250)

				r := c.mustCmd("MAIL FROM:<error-mail+" + id + "@example.org>")
				if r.class() != wantClass {
					t.Errorf("MAIL with a failing script: %q, want %dxx", r, wantClass)
				}
				c.expect("RSET", 250)

				rcpt := "eom+" + id + "@example.com"
				res := c.send(txn{from: "error-eom+" + id + "@example.org", rcpts: []string{rcpt},
					msg: message("e@example.org", rcpt, "error at eom", nil, "x\n")})
				if res.last().class() != wantClass {
					t.Errorf("end of data with a failing script: %q, want %dxx", res.last(), wantClass)
				}

				// The error is per message: the next one is checked normally.
				ok := "ok+" + id + "@example.com"
				res = c.send(txn{from: "fine+" + id + "@example.org", rcpts: []string{ok},
					msg: message("f@example.org", ok, "fine", nil, "fine\n")})
				if res.final.code != 250 {
					t.Fatalf("message after the error: %q", res.last())
				}
				c.expect("QUIT", 221)
				d := m.waitDelivery(t, ok)
				checkHeader(t, d, "X-E2E-Checked", []string{"yes"})
				if action == "accept" {
					m.waitDelivery(t, rcpt)
				} else {
					m.assertNotDelivered(t, rcpt)
				}
			})
		})
	}
}

// TestMilterDownAndBack kills luamilter while the MTAs run: they must apply
// milter_default_action (tempfail), and deliver again once it is back.
func TestMilterDownAndBack(t *testing.T) {
	s := requireBinary(t)
	opts := milterOpts{scripts: []string{stampPolicy}}
	p := startMilter(t, s, opts)
	send := func(t *testing.T, m *mta, rcpt string) txnResult {
		c := dialSMTP(t, m)
		c.expect("EHLO client.test", 250)
		res := c.send(txn{from: "sender@example.org", rcpts: []string{rcpt},
			msg: message("sender@example.org", rcpt, "availability", nil, "hi\n")})
		_, _ = c.cmd("QUIT")
		return res
	}
	id := uniq()
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		rcpt := "up+" + id + "@example.com"
		if res := send(t, m, rcpt); res.final.code != 250 {
			t.Fatalf("with luamilter up: %q", res.last())
		}
		checkHeader(t, m.waitDelivery(t, rcpt), "X-E2E-Stamp", []string{"luamilter"})
	})

	p.kill()
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		rcpt := "down+" + id + "@example.com"
		res := send(t, m, rcpt)
		if res.last().class() != 4 {
			t.Errorf("with luamilter down: %q, want a 4xx (milter_default_action = tempfail)", res.last())
		}
		t.Logf("%s with the milter down: %q", m.name, res.last())
		m.assertNotDelivered(t, rcpt)
	})

	startMilter(t, s, opts)
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		rcpt := "back+" + id + "@example.com"
		if res := send(t, m, rcpt); res.final.code != 250 {
			t.Fatalf("after restarting luamilter: %q", res.last())
		}
		checkHeader(t, m.waitDelivery(t, rcpt), "X-E2E-Stamp", []string{"luamilter"})
	})
}

// TestUnixSocket runs policy verdicts and edits over a unix milter socket.
func TestUnixSocket(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{verdictPolicy, stampPolicy}, unix: true})
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		m.useMilter(t, s.milterUnix)
		id := uniq()
		ok := "ok+" + id + "@example.com"
		bad := "reject-rcpt+" + id + "@example.com"
		c := dialSMTP(t, m)
		c.expect("EHLO client.test", 250)
		res := c.send(txn{from: "sender+" + id + "@example.org", rcpts: []string{bad, ok},
			msg: message("sender@example.org", ok, "over unix", nil, "unix\n")})
		want := m.expectReply("rcpt", bad, []string{"550 5.1.1 no such user here"})
		if len(res.rcpts) != 2 || !slices.Equal(res.rcpts[0].lines, want) {
			t.Errorf("RCPT replies %q, want %q first", res.rcpts, want)
		}
		if res.final.code != 250 {
			t.Fatalf("end of data: %q", res.last())
		}
		c.expect("QUIT", 221)
		checkHeader(t, m.waitDelivery(t, ok), "X-E2E-Stamp", []string{"luamilter"})
		m.assertNotDelivered(t, bad)
	})
}
