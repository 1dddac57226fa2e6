package e2e

import (
	"testing"
)

// TestEachRecipientVerdicts checks validate_data_spool_each_rcpt: verdicts
// for some recipients remove just those; when every recipient is refused
// the whole message gets the policy's reply.
func TestEachRecipientVerdicts(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{eachRcptPolicy}})
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		t.Run("partial", func(t *testing.T) {
			id := uniq()
			keep := "keep+" + id + "@example.com"
			refuse := "refuse+" + id + "@example.com"
			drop := "drop+" + id + "@example.net"
			deliverOne(t, m, "sender+"+id+"@example.org", []string{keep, refuse, drop},
				message("sender@example.org", keep, "each rcpt", nil, "per recipient\n"))
			m.waitDelivery(t, keep)
			m.assertNotDelivered(t, refuse)
			m.assertNotDelivered(t, drop)
		})
		t.Run("all refused", func(t *testing.T) {
			id := uniq()
			r1 := "refuse-one+" + id + "@example.com"
			r2 := "refuse-two+" + id + "@example.com"
			c := dialSMTP(t, m)
			c.expect("EHLO client.test", 250)
			res := c.send(txn{from: "sender+" + id + "@example.org", rcpts: []string{r1, r2},
				msg: message("sender@example.org", r1, "each rcpt", nil, "nobody wants it\n")})
			if got, want := res.final.String(), "550 5.7.1 not for this recipient"; got != want {
				t.Errorf("end of data: %q, want %q", got, want)
			}
			c.expect("QUIT", 221)
			m.assertNotDelivered(t, r1)
			m.assertNotDelivered(t, r2)
		})
	})
}
