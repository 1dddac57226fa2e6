package policy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

// refusingPolicy refuses at every stage a script can, depending on the
// envelope, and drops one recipient at end of message.
const refusingPolicy = `
local m = {}
function m:validate_connect(ac, vctx)
  if vctx:get(msys.core.VCTX_CONN, "client_addr") == "192.0.2.66" or tostring(ac.remote_addr):match("^192%.0%.2%.66") then
    vctx:set_code(554, "5.7.1 Go away") return msys.core.VALIDATE_DONE end
  return msys.core.VALIDATE_CONT
end
function m:validate_ehlo(str, ac, vctx)
  if str == "EHLO bad.helo" then vctx:set_code(550, "5.7.1 Bad HELO") end
  return msys.core.VALIDATE_CONT
end
function m:validate_mailfrom(str, ac, vctx)
  if vctx:get(msys.core.VCTX_MESS, "mailfrom_localpart") == "spammer" then vctx:set_code(550, "5.7.1 Sender refused") end
  return msys.core.VALIDATE_CONT
end
function m:validate_rcptto(msg, str, ac, vctx)
  if vctx:get(msys.core.VCTX_MESS, "rcptto_localpart") == "nobody" then vctx:set_code(550, "5.1.1 No such user here") end
  if vctx:get(msys.core.VCTX_MESS, "rcptto_localpart") == "later" then vctx:set_code(451, "4.2.0 Try later") end
  return msys.core.VALIDATE_CONT
end
function m:validate_rcptto_list_final(node, vctx)
  if vctx:get(msys.core.VCTX_MESS, "mailfrom_localpart") == "nodata" then vctx:set_code(554, "5.7.1 No DATA for you") end
  return msys.core.VALIDATE_CONT
end
function m:validate_data_spool_each_rcpt(msg, ac, vctx)
  if msg:rcptto():match("^dropme@") then vctx:set_code(550, "5.7.1 Not for this one") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("gate", m)
`

// TestRefusedCommandsAreLogged checks that every refused command has a
// log line with its reply, the module, and the session's ids, and that
// the message summary names every recipient with its own outcome, also
// for a message that never reached end of message.
func TestRefusedCommandsAreLogged(t *testing.T) {
	tests := []struct {
		name    string
		tx      func(tx *milter.Transaction)
		refused []string // each must appear on one "command refused" line
		summary []string // on the "message" line; nil: no summary
	}{
		{"connect", func(tx *milter.Transaction) { tx.ClientIP = "192.0.2.66" },
			[]string{"stage=connect", "arg=192.0.2.66", "action=reject", `reply="554 5.7.1 Go away"`, "module=gate", "client=192.0.2.66"}, nil},
		{"helo", func(tx *milter.Transaction) { tx.Helo = "bad.helo" },
			[]string{"stage=helo", "arg=bad.helo", `reply="550 5.7.1 Bad HELO"`, "module=gate"}, nil},
		{"mail", func(tx *milter.Transaction) { tx.From = "spammer@example.org" },
			[]string{"stage=mail", "arg=spammer@example.org", `reply="550 5.7.1 Sender refused"`, "module=gate", "queue_id=Q7"},
			[]string{"action=reject", `reply="550 5.7.1 Sender refused"`, "from=spammer@example.org", "queue_id=Q7"}},
		{"one rcpt of three", func(tx *milter.Transaction) {
			tx.Rcpts = []string{"a@example.com", "nobody@example.com", "later@example.com"}
		},
			[]string{"stage=rcpt", "arg=nobody@example.com", `reply="550 5.1.1 No such user here"`, "module=gate", "queue_id=Q7", "session="},
			[]string{"action=accept", `rcpts="a@example.com accept; nobody@example.com reject 550 5.1.1 No such user here; later@example.com tempfail 451 4.2.0 Try later"`}},
		{"every rcpt", func(tx *milter.Transaction) { tx.Rcpts = []string{"nobody@example.com"} },
			[]string{"stage=rcpt", "arg=nobody@example.com"},
			[]string{"action=reject", `reply="550 5.1.1 No such user here"`, `rcpts="nobody@example.com reject 550 5.1.1 No such user here"`}},
		{"data", func(tx *milter.Transaction) { tx.From = "nodata@example.org" },
			[]string{"stage=data", "action=reject", `reply="554 5.7.1 No DATA for you"`, "module=gate"},
			[]string{"action=reject", `reply="554 5.7.1 No DATA for you"`, `rcpts="rcpt@example.com accept"`}},
		{"dropped at end of message", func(tx *milter.Transaction) { tx.Rcpts = []string{"a@example.com", "dropme@example.com"} },
			nil,
			[]string{"action=accept", `rcpts="a@example.com accept; dropme@example.com reject 550 5.7.1 Not for this one"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := milttest.Start(t, milttest.Options{NegotiateAll: true}, refusingPolicy)
			tx := milter.Transaction{ClientIP: "192.0.2.1", ClientName: "c.example", Helo: "good.helo", From: "a@example.org",
				Rcpts: []string{"rcpt@example.com"}, QueueID: "Q7", Message: []byte("Subject: x\r\n\r\nbody\r\n")}
			tc.tx(&tx)
			if _, err := srv.Play(tx); err != nil {
				t.Fatal(err)
			}
			// Shutdown waits for the session to close, which summarizes
			// a message that never reached end of message.
			if err := srv.Milter.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(srv.Logs(), "\n")
			find := func(msg string, want []string) {
				t.Helper()
				for _, l := range lines {
					if !strings.Contains(l, msg) {
						continue
					}
					ok := true
					for _, w := range want {
						ok = ok && strings.Contains(l, w)
					}
					if ok {
						return
					}
				}
				t.Errorf("no %s line with %q in:\n%s", msg, want, srv.Logs())
			}
			if tc.refused != nil {
				find(`msg="command refused"`, append(tc.refused, "session=", "client="))
			}
			if tc.summary != nil {
				find("msg=message ", append(tc.summary, "session=", "client=192.0.2.1", "queue_id=Q7"))
			}
		})
	}
}
