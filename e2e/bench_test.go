package e2e

import (
	"fmt"
	"testing"
)

// BenchmarkTransaction measures one mail transaction (MAIL, RCPT, DATA,
// content, final reply) through each MTA with luamilter running a small
// policy, over a TCP and a unix milter socket. Sendmail's TCP numbers
// include its Nagle/delayed-ACK stall of about 45 ms per milter command.
//
//	LUAMILTER_E2E=1 go test -run '^$' -bench Transaction -benchtime 20x ./e2e/
func BenchmarkTransaction(b *testing.B) {
	if env == nil {
		b.Skip(skipMessage)
	}
	s := env
	if s.buildErr != nil {
		b.Fatalf("luamilter not built: %v", s.buildErr)
	}
	for _, m := range s.mtas() {
		for _, sock := range []string{"inet", "unix"} {
			b.Run(m.name+"/"+sock, func(b *testing.B) {
				startMilter(b, s, milterOpts{scripts: []string{verdictPolicy, stampPolicy}, unix: true})
				if sock == "unix" {
					m.useMilter(b, s.milterUnix)
				}
				c := dialSMTP(b, m)
				if r := c.mustCmd("EHLO client.test"); r.code != 250 {
					b.Fatalf("EHLO: %q", r)
				}
				msg := message("bench@example.org", "sink@example.com", "benchmark", nil, "benchmark body\n")
				b.ResetTimer()
				for i := range b.N {
					res := c.send(txn{from: "bench@example.org",
						rcpts: []string{fmt.Sprintf("bench-%d@example.com", i)}, msg: msg})
					if res.final.code != 250 {
						b.Fatalf("transaction %d: %q", i, res.last())
					}
				}
				b.StopTimer()
				c.mustCmd("QUIT")
			})
		}
	}
}
