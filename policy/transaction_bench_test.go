package policy_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

// fiveCallouts is a small policy touching five stages.
const fiveCallouts = `local mod = {}
function mod:validate_connect(ac, vctx) self.ip = tostring(ac.remote_addr) return msys.core.VALIDATE_CONT end
function mod:validate_ehlo(str, ac, vctx) return msys.core.VALIDATE_CONT end
function mod:validate_mailfrom(str, ac, vctx)
  if string.find(tostring(str), "@bad.example", 1, true) then vctx:set_code(550, "5.7.1 bad sender") end
  return msys.core.VALIDATE_CONT
end
function mod:validate_rcptto(msg, str, ac, vctx)
  if msg:rcptto() == "nobody@example.com" then vctx:set_code(550, "5.1.1 no such user") end
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  local s = msg:header("Subject")[1] or ""
  if string.find(string.lower(s), "viagra", 1, true) then vctx:set_code(550, "5.7.1 spam") return msys.core.VALIDATE_DONE end
  msg:header("X-Policy", "checked", "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("five", mod)`

// benchMessage has 12 header fields (two folded) and a 4 KB body.
func benchMessage() []byte {
	var b bytes.Buffer
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "X-Header-%d: value number %d for the benchmark\r\n", i, i)
	}
	b.WriteString("Subject: a perfectly ordinary message\r\n\tfolded onto a second line\r\n")
	b.WriteString("Received: from client.example.net (client.example.net [192.0.2.1])\r\n\tby mx.example.com; Tue, 25 Nov 2026 10:00:00 +0000\r\n")
	b.WriteString("\r\n")
	line := bytes.Repeat([]byte("x"), 62)
	for b.Len() < 4096+600 {
		b.Write(line)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// BenchmarkTransaction runs whole transactions (connect, helo, mail, two
// recipients, 12 headers, 4 KB body, end of message) through the real
// server over a unix socket, one connection per transaction.
func BenchmarkTransaction(b *testing.B) {
	benchTransaction(b, fiveCallouts, 1)
}

// BenchmarkUntouchedTransaction is BenchmarkTransaction with a policy that
// reads the message but edits nothing, the common case.
func BenchmarkUntouchedTransaction(b *testing.B) {
	script := strings.Replace(fiveCallouts, `msg:header("X-Policy", "checked", "append")`, "", 1)
	if script == fiveCallouts {
		b.Fatal("the header edit was not removed from the policy")
	}
	benchTransaction(b, script, 0)
}

func benchTransaction(b *testing.B, script string, wantMods int) {
	srv := milttest.Start(b, milttest.Options{}, script)
	tx := milter.Transaction{ClientIP: "192.0.2.1", ClientName: "client.example.net", Helo: "client.example.net",
		From: "a@example.org", Rcpts: []string{"b@example.com", "c@example.com"}, Message: benchMessage(), QueueID: "Q1"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr, err := srv.Play(tx)
		if err != nil {
			b.Fatal(err)
		}
		if tr.Final.Action != "accept" || len(tr.Modifications) != wantMods {
			b.Fatalf("unexpected outcome %+v", tr)
		}
	}
}
