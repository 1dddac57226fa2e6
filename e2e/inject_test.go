package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// injectPolicy builds a new message with msg:build for every message to
// trigger+ID@example.com and submits it with msg:inject for
// injected+ID@example.com. The injected message comes back through the
// milter; its recipient does not match, so it is not injected again.
const injectPolicy = `
local mod = {}
function mod:validate_data(msg, ac, vctx)
  local id = msg:rcptto():match("^trigger%+([%w]+)@example%.com$")
  if id then
    local imsg = msys.core.ec_message_new(nil)
    imsg:build({To = "injected+" .. id .. "@example.com", From = "policy@example.net",
      Subject = "built " .. id}, {["text/plain"] = "Injected by policy."})
    local ok, err = imsg:inject("policy+" .. id .. "@example.net", "injected+" .. id .. "@example.com")
    print("inject result", tostring(ok), tostring(err))
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("inject", mod)
`

// TestInjectThroughPostfix checks that a message built and injected by a
// script is queued by Postfix and delivered, and that the message being
// received is delivered unchanged.
func TestInjectThroughPostfix(t *testing.T) {
	s := requireBinary(t)
	m := s.postfix
	startMilter(t, s, milterOpts{scripts: []string{injectPolicy},
		extra: []string{"--inject-relay", fmt.Sprintf("127.0.0.1:%d", m.port)}})
	id := uniq()
	rcpt := "trigger+" + id + "@example.com"
	body := "original body\nstays as sent\n"
	deliverOne(t, m, "orig+"+id+"@example.org", []string{rcpt},
		message("orig@example.org", rcpt, "original "+id, []string{"X-Original: yes"}, body))

	injected := m.waitDelivery(t, "injected+"+id+"@example.com")
	if want := "policy+" + id + "@example.net"; injected.Sender != want {
		t.Errorf("injected message: envelope sender %q, want %q", injected.Sender, want)
	}
	if got := injected.Header.Get("Subject"); got != "built "+id {
		t.Errorf("injected message: Subject %q, want %q", got, "built "+id)
	}
	if !strings.Contains(injected.Body, "Injected by policy.") {
		t.Errorf("injected message body:\n%s", injected.Body)
	}

	orig := m.waitDelivery(t, rcpt)
	if want := "orig+" + id + "@example.org"; orig.Sender != want {
		t.Errorf("original message: envelope sender %q, want %q", orig.Sender, want)
	}
	if got := orig.Header.Get("Subject"); got != "original "+id {
		t.Errorf("original message: Subject %q", got)
	}
	if got := orig.Header.Get("X-Original"); got != "yes" {
		t.Errorf("original message: X-Original %q", got)
	}
	if got := lf(orig.Body); got != body {
		t.Errorf("original message body %q, want %q", got, body)
	}
}
