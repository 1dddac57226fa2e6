package e2e

import (
	"net/textproto"
	"regexp"
	"strings"
	"testing"
)

// TestMessageEdits checks header, envelope and body changes and quarantine
// as they arrive in the delivered message or the MTA's queue.
func TestMessageEdits(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{editPolicy}})
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		t.Run("headers", func(t *testing.T) {
			id := uniq()
			rcpt := "headers+" + id + "@example.com"
			deliverOne(t, m, "edit-headers+"+id+"@example.org", []string{rcpt},
				message("edit@example.org", rcpt, "hello",
					[]string{"X-Change: old value", "X-Delete: doomed"}, "body stays\n"))
			d := m.waitDelivery(t, rcpt)
			checkHeader(t, d, "X-Added", []string{"added by policy"})
			checkHeader(t, d, "X-Change", []string{"new value"})
			checkHeader(t, d, "X-Delete", nil)
			checkHeader(t, d, "Subject", []string{"[policy] hello"})
			if got := lf(d.Body); got != "body stays\n" {
				t.Errorf("body changed: %q", got)
			}
		})
		t.Run("envelope", func(t *testing.T) {
			id := uniq()
			keep := "keep+" + id + "@example.com"
			drop := "remove-me+" + id + "@example.com"
			added := "added+" + id + "@example.net"
			deliverOne(t, m, "edit-envelope+"+id+"@example.org", []string{keep, drop},
				message("edit@example.org", keep, "envelope", nil, "envelope test\n"))
			for _, rcpt := range []string{keep, added} {
				d := m.waitDelivery(t, rcpt)
				if want := "changed+" + id + "@example.org"; d.Sender != want {
					t.Errorf("%s: envelope sender %q, want %q", rcpt, d.Sender, want)
				}
			}
			m.assertNotDelivered(t, drop)
		})
		t.Run("body", func(t *testing.T) {
			id := uniq()
			rcpt := "body+" + id + "@example.com"
			deliverOne(t, m, "edit-body+"+id+"@example.org", []string{rcpt},
				message("edit@example.org", rcpt, "body", nil, "original body\nwith two lines\n"))
			d := m.waitDelivery(t, rcpt)
			if got := lf(d.Body); got != "replaced body\nsecond line\n" {
				t.Errorf("body %q, want the replacement", got)
			}
		})
		for _, sender := range []string{"quarantine", "quarantine-method"} {
			t.Run(sender, func(t *testing.T) {
				id := uniq()
				rcpt := "held+" + id + "@example.com"
				final := deliverOne(t, m, sender+"+"+id+"@example.org", []string{rcpt},
					message("q@example.org", rcpt, "quarantine", nil, "hold me\n"))
				qid := m.queueID(final)
				if qid == "" {
					t.Fatalf("no queue id in %q", final)
				}
				m.assertHeld(t, qid, "held by e2e policy")
				m.assertNotDelivered(t, rcpt)
			})
		}
	})
}

// assertHeld checks that the message is quarantined: in Postfix's hold
// queue ("!" after the queue id), in Sendmail's quarantine with the reason.
func (m *mta) assertHeld(t *testing.T, qid, reason string) {
	t.Helper()
	listing := m.queueListing(t)
	switch m.name {
	case "postfix":
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(qid) + `!`).MatchString(listing) {
			t.Errorf("%s not on hold:\n%s", qid, listing)
		}
	default:
		if !strings.Contains(listing, qid) || !strings.Contains(listing, "QUARANTINE: "+reason) {
			t.Errorf("%s not quarantined with reason %q:\n%s", qid, reason, listing)
		}
	}
}

// deliverOne sends one message on a fresh connection and requires a 250
// at the end of data; it returns that reply.
func deliverOne(t *testing.T, m *mta, from string, rcpts []string, msg string) reply {
	t.Helper()
	c := dialSMTP(t, m)
	c.expect("EHLO client.test", 250)
	res := c.send(txn{from: from, rcpts: rcpts, msg: msg})
	if res.final.code != 250 {
		t.Fatalf("transaction failed at %q", res.last())
	}
	c.expect("QUIT", 221)
	return res.final
}

func checkHeader(t *testing.T, d *delivery, name string, want []string) {
	t.Helper()
	got := d.Header[textproto.CanonicalMIMEHeaderKey(name)]
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("header %s = %q, want %q\nmessage:\n%s", name, got, want, d.Raw)
	}
}

// lf normalises line ends; the sinks store messages with LF.
func lf(s string) string {
	return strings.ReplaceAll(s, "\r\n", "\n")
}
