package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

var plainMessage = []byte("From: a@example.org\r\nTo: b@example.com\r\nSubject: hello\r\n\r\nbody\r\n")

func tx(rcpts ...string) milter.Transaction {
	if len(rcpts) == 0 {
		rcpts = []string{"b@example.com"}
	}
	return milter.Transaction{ClientIP: "192.0.2.10", ClientName: "client.example.net", Helo: "client.example.net",
		From: "a@example.org", Rcpts: rcpts, Message: plainMessage, QueueID: "ABC123"}
}

// verdictScript sets code/text (or disconnects) in one callout.
func verdictScript(callout, call string) string {
	args := map[string]string{
		"validate_connect": "ac, vctx", "validate_ehlo": "str, ac, vctx", "validate_mailfrom": "str, ac, vctx",
		"validate_rcptto": "msg, str, ac, vctx", "validate_rcptto_list": "node, vctx",
		"validate_rcptto_list_final": "node, vctx", "validate_data": "msg, ac, vctx",
		"validate_data_spool": "msg, ac, vctx", "validate_data_spool_each_rcpt": "msg, ac, vctx",
	}[callout]
	return calloutScript(callout, args, call)
}

func TestVerdictReachesClientVerbatim(t *testing.T) {
	tests := []struct {
		callout, call string
		stage, action string
		reply         string
	}{
		{"validate_connect", `vctx:set_code(550, "5.7.1 No mail from you")`, "connect", "reject", "550 5.7.1 No mail from you"},
		{"validate_ehlo", `vctx:set_code(550, "5.7.0 Bad HELO")`, "helo", "reject", "550 5.7.0 Bad HELO"},
		{"validate_mailfrom", `vctx:set_code(451, "4.7.1 Try again later")`, "mail", "tempfail", "451 4.7.1 Try again later"},
		{"validate_mailfrom", `vctx:set_code("553", "5.1.8 Bad sender")`, "mail", "reject", "553 5.1.8 Bad sender"},
		{"validate_mailfrom", `vctx:set_code(550, "no enhanced code")`, "mail", "reject", "550 no enhanced code"},
		{"validate_mailfrom", `vctx:set_code(550, "5.7.1 line one\nline two")`, "mail", "reject", "550-5.7.1 line one\r\n550 5.7.1 line two"},
		{"validate_mailfrom", `vctx:set_code(550, "5.7.1 line one\n5.7.1 line two")`, "mail", "reject", "550-5.7.1 line one\r\n550 5.7.1 line two"},
		{"validate_data", `vctx:set(msys.core.VCTX_MESS, "quarantine", "held for review")`, "", "accept", ""},
		{"validate_mailfrom", `vctx:disconnect(421, "4.7.0 Bye")`, "mail", "tempfail", "421 4.7.0 Bye"},
		{"validate_mailfrom", `vctx:disconnect(550, "5.7.1 Bye")`, "mail", "tempfail", "421 4.7.1 Bye"},
		{"validate_mailfrom", `vctx:set_code(550, "5.7.1 x"); vctx.disconnect = 1`, "mail", "tempfail", "421 4.7.1 x"},
		{"validate_mailfrom", `vctx:set_code(250, "2.0.0 fine")`, "", "accept", ""},
		{"validate_rcptto_list_final", `vctx:set_code(554, "5.5.1 No valid recipients")`, "data", "reject", "554 5.5.1 No valid recipients"},
		{"validate_data", `vctx:set_code(550, "5.7.1 Spam")`, "eom", "reject", "550 5.7.1 Spam"},
		{"validate_data_spool", `vctx:set_code(452, "4.3.1 Full")`, "eom", "tempfail", "452 4.3.1 Full"},
		{"validate_data_spool_each_rcpt", `vctx:set_code(550, "5.7.1 Not for you")`, "eom", "reject", "550 5.7.1 Not for you"},
		{"validate_data", `msg:discard()`, "eom", "discard", ""},
	}
	for _, tc := range tests {
		t.Run(tc.callout+"/"+tc.call, func(t *testing.T) {
			srv := milttest.Start(t, milttest.Options{Direct: true}, verdictScript(tc.callout, tc.call))
			tr, err := srv.Play(tx())
			if err != nil {
				t.Fatal(err)
			}
			if tc.stage == "" {
				if tr.Final.Action != "accept" {
					t.Fatalf("final = %+v, want accept", tr.Final)
				}
				return
			}
			if tr.Final.Stage != tc.stage || tr.Final.Action != tc.action || tr.Final.Reply != tc.reply {
				t.Fatalf("final = %+v, want stage %s action %s reply %q", tr.Final, tc.stage, tc.action, tc.reply)
			}
		})
	}
}

func TestRecipientRejectsApplyPerRecipient(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local mod = {}
function mod:validate_rcptto(msg, str, ac, vctx)
  if string.match(tostring(str), '^RCPT TO:<(.*)@') == "nobody" then
    vctx:set_code(550, "5.1.1 No such user")
  end
  return msys.core.VALIDATE_CONT
end
function mod:validate_rcptto_list(node, vctx)
  local list = vctx:recipient_list()
  vctx:set(msys.core.VCTX_MESS, "seen", tostring(#list + 1))
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  msg:header("X-Seen", vctx:get(msys.core.VCTX_MESS, "seen") .. " " .. vctx:get(msys.core.VCTX_CONN, "message_rcpt_count"), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("rcpts", mod)`)
	tr, err := srv.Play(tx("a@example.com", "nobody@example.com", "c@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range tr.Stages {
		if s.Stage == "rcpt" {
			got = append(got, s.Arg+"="+s.Action+" "+s.Reply)
		}
	}
	want := []string{"a@example.com=continue ", "nobody@example.com=reject 550 5.1.1 No such user", "c@example.com=continue "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("rcpt stages = %q, want %q", got, want)
	}
	if tr.Final.Action != "accept" || len(tr.Modifications) != 1 || !strings.Contains(tr.Modifications[0], "X-Seen: 2 2") {
		t.Fatalf("final %+v mods %q; want accept with X-Seen: 2 2", tr.Final, tr.Modifications)
	}
}

func TestEachRecipientRejectDeletesRecipient(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local mod = {}
function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  if msg:rcptto() == "spamtrap@example.com" then
    vctx:set_code(550, "5.7.1 Trap")
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("each", mod)`)
	tr, err := srv.Play(tx("a@example.com", "spamtrap@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Action != "accept" || strings.Join(tr.Modifications, "|") != "del_rcpt <spamtrap@example.com>" {
		t.Fatalf("final %+v mods %q; want accept and del_rcpt of the trap", tr.Final, tr.Modifications)
	}
	tr, err = srv.Play(tx("spamtrap@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Action != "reject" || tr.Final.Reply != "550 5.7.1 Trap" {
		t.Fatalf("all recipients rejected: final %+v, want reject 550 5.7.1 Trap", tr.Final)
	}
}

func TestValidateDoneStopsLaterModulesForThatPhaseOnly(t *testing.T) {
	first := `local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  vctx:set_code(550, "5.7.1 first")
  return msys.core.VALIDATE_DONE
end
msys.registerModule("first", mod)`
	second := `local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  vctx:set_code(550, "5.7.1 second")
  return msys.core.VALIDATE_CONT
end
function mod:validate_ehlo(str, ac, vctx)
  vctx:set(msys.core.VCTX_CONN, "second_ran", "yes")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("second", mod)`
	srv := milttest.Start(t, milttest.Options{Direct: true}, first, second)
	tr, err := srv.Play(tx())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Reply != "550 5.7.1 first" {
		t.Fatalf("final %+v, want the first module's reply", tr.Final)
	}
	// CONT lets the next module override: swap the return value.
	srv = milttest.Start(t, milttest.Options{Direct: true}, strings.Replace(first, "VALIDATE_DONE", "VALIDATE_CONT", 1), second)
	tr, err = srv.Play(tx())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Reply != "550 5.7.1 second" {
		t.Fatalf("final %+v, want the second module's reply", tr.Final)
	}
}

func TestCalloutArgumentsAndContextVariables(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local mod = {}
-- The trace lives in self: script locals are per Lua state, and a
-- session's commands may run in different states.
local function note(self, s)
  self.seen = self.seen or {}
  self.seen[#self.seen+1] = s
end
function mod:validate_connect(ac, vctx)
  note(self, "connect " .. tostring(ac.remote_addr))
  return msys.core.VALIDATE_CONT
end
function mod:validate_ehlo(str, ac, vctx)
  note(self, tostring(str) .. " " .. vctx:get(msys.core.VCTX_CONN, "ehlo_domain"))
  return msys.core.VALIDATE_CONT
end
function mod:validate_mailfrom(str, ac, vctx)
  note(self, tostring(str) .. " " .. vctx:get(msys.core.VCTX_MESS, "mailfrom_localpart") .. " " .. vctx:get(msys.core.ECMESS_CTX_MESS, "mailfrom_domain"))
  local mc = msys.core.accept_construct_get_message_construct(ac)
  note(self, "mailfrom msg " .. mc.message:mailfrom())
  return msys.core.VALIDATE_CONT
end
function mod:validate_rcptto(msg, str, ac, vctx)
  note(self, tostring(str) .. " " .. msg:rcptto() .. " " .. vctx:get(msys.core.VCTX_MESS, "rcptto_domain"))
  return msys.core.VALIDATE_CONT
end
function mod:validate_rcptto_list_final(node, vctx)
  note(self, "final " .. vctx:get(msys.core.VCTX_CONN, "message_rcpt_count"))
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  note(self, "data " .. msg:header("Subject")[1])
  return msys.core.VALIDATE_CONT
end
function mod:validate_data_spool(msg, ac, vctx)
  note(self, "spool")
  return msys.core.VALIDATE_CONT
end
function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  note(self, "each " .. msg:rcptto())
  return msys.core.VALIDATE_CONT
end
function mod:validate_set_binding(msg)
  note(self, "binding " .. msg:rcptto())
  msg:header("X-Trace", table.concat(self.seen, "|"), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("trace", mod)`)
	t1 := tx("x@example.com")
	tr, err := srv.Play(t1)
	if err != nil {
		t.Fatal(err)
	}
	want := "connect 192.0.2.10:25000|EHLO client.example.net client.example.net|MAIL FROM:<a@example.org> a example.org|" +
		"mailfrom msg a@example.org|RCPT TO:<x@example.com> x@example.com example.com|final 1|data hello|spool|" +
		"each x@example.com|binding x@example.com"
	if len(tr.Modifications) != 1 || !strings.Contains(tr.Modifications[0], want) {
		t.Fatalf("modifications %q, want the trace %q", tr.Modifications, want)
	}
}

func TestSelfIsPerSessionAndSurvivesPhases(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local mod = {}
function mod:validate_connect(ac, vctx)
  for k in pairs(self) do self[k] = nil end
  self.peer = tostring(ac.remote_addr)
  self.count = (self.count or 0) + 1
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  msg:header("X-Self", self.peer .. " " .. self.count, "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("selfish", mod)`)
	for i := 0; i < 3; i++ {
		tr, err := srv.Play(tx())
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Modifications) != 1 || !strings.Contains(tr.Modifications[0], "X-Self: 192.0.2.10:25000 1") {
			t.Fatalf("session %d: modifications %q, want a fresh self each session", i, tr.Modifications)
		}
	}
}

func TestNilReturnIsContinueWithWarning(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local mod = {}
function mod:validate_mailfrom(str, ac, vctx) end
msys.registerModule("lazy", mod)`)
	tr, err := srv.Play(tx())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Action != "accept" {
		t.Fatalf("final %+v, want accept", tr.Final)
	}
	if !strings.Contains(srv.Logs(), "callout returned nothing; treating it as VALIDATE_CONT") {
		t.Fatalf("no warning in log:\n%s", srv.Logs())
	}
}

func TestQuarantineFromMessageContext(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, verdictScript("validate_data",
		`vctx:set(msys.core.VCTX_MESS, "quarantine", "held for review")`))
	tr, err := srv.Play(tx())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Action != "accept" || strings.Join(tr.Modifications, "|") != `quarantine "held for review"` {
		t.Fatalf("final %+v mods %q", tr.Final, tr.Modifications)
	}
}

// TestBypassSkipsModule: a connection context value __bypass_NAME set to
// "true" skips module NAME's callouts for the rest of the session.
func TestBypassSkipsModule(t *testing.T) {
	script := func(value string) string {
		return fmt.Sprintf(`local first = {}
function first:validate_connect(ac, vctx)
  vctx:set(msys.core.VCTX_CONN, "__bypass_checks", %q)
  return msys.core.VALIDATE_CONT
end
msys.registerModule("first", first)
local checks = {}
function checks:validate_mailfrom(str, ac, vctx)
  vctx:set_code(550, "5.7.1 checked")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("checks", checks)
`, value)
	}
	for value, want := range map[string]string{"true": "accept", "false": "reject"} {
		srv := milttest.Start(t, milttest.Options{Direct: true}, script(value))
		tr, err := srv.Play(tx())
		if err != nil {
			t.Fatal(err)
		}
		if tr.Final.Action != want {
			t.Fatalf("__bypass_checks=%s: final = %+v, want %s", value, tr.Final, want)
		}
	}
}
