package policy_test

import (
	"net"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// buildLua builds a message with msg:build into imsg, as Momentum's
// sample does.
const buildLua = `
local imsg = msys.core.ec_message_new(nil)
imsg:build({To = "recipient@example.com", From = "noreply@example.net", Subject = "built"},
  {["text/plain"] = "Built body."})
`

// TestInjectAndForward runs msg:inject and msg:forward against an SMTP
// listener on loopback and checks what the script got back, what the
// listener received and that the transaction being received went on
// unchanged.
func TestInjectAndForward(t *testing.T) {
	// A port nothing listens on: listen, note it, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadRelay := ln.Addr().String()
	ln.Close()

	cases := []struct {
		name    string
		callout string // default validate_data
		lua     string // sets ok, err
		dead    bool   // relay not reachable
		ok      string // "true" or "nil"
		errHas  string // in err
		// what the listener received
		from string
		to   []string
		has  []string // in the message's data
	}{
		{name: "built message", lua: buildLua + `ok, err = imsg:inject("bounce@example.net", "a@example.com, <b@example.com>")`,
			ok: "true", from: "bounce@example.net", to: []string{"a@example.com", "b@example.com"},
			has: []string{"Subject: built\r\n", "From: noreply@example.net\r\n", "Built body."}},
		{name: "built message in validate_rcptto", callout: "validate_rcptto",
			lua: buildLua + `ok, err = imsg:inject("bounce@example.net", "a@example.com")`,
			ok:  "true", from: "bounce@example.net", to: []string{"a@example.com"}, has: []string{"Built body."}},
		{name: "received message with its envelope and edits", lua: `msg:header("X-Copy", "yes") ok, err = msg:inject()`,
			ok: "true", from: "sender@example.org", to: []string{"rcpt@example.com"},
			has: []string{"X-Copy: yes\r\n", "Hello world.\r\n"}},
		{name: "null sender", lua: buildLua + `ok, err = imsg:inject("", "a@example.com")`,
			ok: "true", from: "", to: []string{"a@example.com"}},
		{name: "forward", lua: `ok, err = msg:forward("fwd@example.org", "a@example.com,b@example.com", "See below.", "FW: note")`,
			ok: "true", from: "fwd@example.org", to: []string{"a@example.com", "b@example.com"},
			has: []string{"Subject: FW: note\r\n", "To: a@example.com, b@example.com\r\n", "Content-Type: multipart/mixed",
				"See below.", "Content-Type: message/rfc822\r\n", "From: Sender <sender@example.org>\r\n", "Hello world.\r\n"}},
		{name: "forward with a charset", lua: `ok, err = msg:forward("fwd@example.org", "a@example.com", "Grüße", nil, "utf-8")`,
			ok: "true", from: "fwd@example.org", to: []string{"a@example.com"},
			has: []string{"text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "Gr=C3=BC=C3=9Fe"}},
		{name: "forward without a needed charset", lua: `ok, err = msg:forward("fwd@example.org", "a@example.com", "Grüße")`,
			ok: "nil", errHas: "give its charset"},
		{name: "recipient refused", lua: buildLua + `ok, err = imsg:inject("bounce@example.net", "reject@example.com")`,
			ok: "nil", errHas: "RCPT TO:<reject@example.com>: 550 5.1.1 no such user"},
		{name: "sender refused", lua: buildLua + `ok, err = imsg:inject("tempfail@example.net", "a@example.com")`,
			ok: "nil", errHas: "451 4.3.0 try again later"},
		{name: "no recipient", lua: buildLua + `ok, err = imsg:inject("bounce@example.net", " , ")`,
			ok: "nil", errHas: "no recipient"},
		{name: "relay not reachable", dead: true, lua: buildLua + `ok, err = imsg:inject("bounce@example.net", "a@example.com")`,
			ok: "nil", errHas: "inject relay " + deadRelay + " not reachable"},
		{name: "received message before its content", callout: "validate_rcptto", lua: `ok, err = msg:inject()`,
			ok: "nil", errHas: "not available in validate_rcptto"},
		{name: "forward before the content", callout: "validate_rcptto", lua: `ok, err = msg:forward("f@example.org", "a@example.com", "x")`,
			ok: "nil", errHas: "not available in validate_rcptto"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := startSMTPSink(t)
			relay := sink.addr
			if tc.dead {
				relay = deadRelay
			}
			callout, args := "validate_data", "msg, ac, vctx"
			if tc.callout == "validate_rcptto" {
				callout, args = "validate_rcptto", "msg, str, accept, vctx"
			}
			// The result goes into the connection context and is reported
			// at end of message, so the RCPT and DATA stages stay
			// untouched by the report.
			script := `
local mod = {}
function mod:` + callout + `(` + args + `)
  local ok, err
` + tc.lua + `
  vctx:set(msys.core.VCTX_CONN, "inject_result", tostring(ok) .. "|" .. tostring(err or ""))
  return msys.core.VALIDATE_CONT
end
function mod:validate_data_spool(msg, ac, vctx)
  report(vctx, vctx:get(msys.core.VCTX_CONN, "inject_result"))
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
			s := startMsg(t, milttest.Options{InjectRelay: relay}, script)
			tr := play(t, s, plainMsg)
			got := reported(t, s, tr)
			res, errText, _ := strings.Cut(strings.Join(got, "|"), "|")
			if res != tc.ok || !strings.Contains(errText, tc.errHas) || (tc.errHas == "" && errText != "") {
				t.Fatalf("got ok=%s err=%q, want ok=%s err containing %q\n%s", res, errText, tc.ok, tc.errHas, s.Logs())
			}
			for _, st := range tr.Stages[:len(tr.Stages)-1] {
				if st.Action != "continue" {
					t.Errorf("stage %s: %s, want continue", st.Stage, st.Action)
				}
			}
			if len(tr.Modifications) != 0 && !strings.Contains(tc.lua, "X-Copy") {
				t.Errorf("the received message was changed: %v", tr.Modifications)
			}
			msgs := sink.messages()
			if tc.ok != "true" {
				if len(msgs) != 0 {
					t.Errorf("listener received %d messages, want none", len(msgs))
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("listener received %d messages, want 1\n%s", len(msgs), s.Logs())
			}
			m := msgs[0]
			if m.From != tc.from || strings.Join(m.To, ",") != strings.Join(tc.to, ",") {
				t.Errorf("envelope %q → %q, want %q → %q", m.From, m.To, tc.from, tc.to)
			}
			for _, want := range tc.has {
				if !strings.Contains(m.Data, want) {
					t.Errorf("message lacks %q:\n%s", want, m.Data)
				}
			}
			headerOf(t, m) // the data is a well-formed message
		})
	}
}

// TestInjectLeavesTransactionAlone checks that a script that injects and
// ignores the result gets the received message through unchanged,
// whether the relay took the new message or not.
func TestInjectLeavesTransactionAlone(t *testing.T) {
	for _, reachable := range []bool{true, false} {
		name := map[bool]string{true: "relay up", false: "relay down"}[reachable]
		t.Run(name, func(t *testing.T) {
			sink := startSMTPSink(t)
			relay := sink.addr
			if !reachable {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				relay = ln.Addr().String()
				ln.Close()
			}
			s := startMsg(t, milttest.Options{InjectRelay: relay},
				dataScript(buildLua+`imsg:inject("bounce@example.net", "a@example.com")`))
			tr := play(t, s, plainMsg)
			wantAccepted(t, s, tr, nil)
			if n := len(sink.messages()); (n == 1) != reachable {
				t.Errorf("listener received %d messages", n)
			}
		})
	}
}
