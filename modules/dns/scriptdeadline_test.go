package dns_test

import (
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/modules/dns"
)

// TestLookupLeavesScriptTime plays, through the real milter path, a
// script whose DNS server never answers, with a script timeout shorter
// than the DNS timeout: the lookup must time out first and the script's
// own reply reach the client, every time.
func TestLookupLeavesScriptTime(t *testing.T) {
	server := dns.SilentServer(t)
	const script = `local mod = {}
function mod:validate_rcptto(msg, str, ac, vctx)
  local r, err = msys.dnsLookup("rbl.example.test", "A")
  if r == nil then
    vctx:set_code(451, "4.4.3 lookup failed: " .. tostring(err))
    return msys.core.VALIDATE_DONE
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("rbl", mod)`
	cases := []struct {
		name          string
		scriptTimeout time.Duration
		dnsTimeout    time.Duration
	}{
		{"defaults: 2s script, 5s DNS", 2 * time.Second, dns.DefaultTimeout},
		{"short script timeout", 300 * time.Millisecond, dns.DefaultTimeout},
		{"DNS timeout just under the script timeout", 300 * time.Millisecond, 290 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := dns.New(dns.Options{Servers: []string{server}, Timeout: tc.dnsTimeout, CacheSize: -1})
			if err != nil {
				t.Fatal(err)
			}
			s := milttest.Start(t, milttest.Options{Timeout: tc.scriptTimeout, Libraries: []luart.Library{r}}, script)
			plays := 3
			if tc.scriptTimeout < time.Second {
				plays = 6
			}
			for i := 0; i < plays; i++ {
				tr, err := s.Play(milter.Transaction{ClientIP: "192.0.2.1", ClientName: "client.example.net", Helo: "client.example.net",
					From: "sender@example.org", Rcpts: []string{"rcpt@example.com"}, Message: []byte("Subject: x\r\n\r\nx\r\n"), QueueID: "Q1"})
				if err != nil {
					t.Fatal(err)
				}
				got := ""
				for _, st := range tr.Stages {
					if st.Stage == "rcpt" {
						got = st.Action + " " + st.Reply
					}
				}
				if got != "tempfail 451 4.4.3 lookup failed: timeout" {
					t.Fatalf("play %d: RCPT got %q, want the script's own reply\n%s", i, got, s.Logs())
				}
			}
		})
	}
}
