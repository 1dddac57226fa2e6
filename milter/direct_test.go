package milter_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

// directScript reports what it saw (macros, envelope, headers, body) in
// the reply or a header, and makes the change the Subject names, so one
// script covers every kind of reply and modification.
const directScript = `local mod = {}
local function seen(msg, ac, vctx)
  local c = msys.core.VCTX_CONN
  return table.concat({tostring(vctx:get(c, "auth_user")), tostring(vctx:get(c, "reverse_dns")),
    tostring(ac.remote_addr), tostring(msg:listener_addr())}, ",")
end
function mod:validate_connect(ac, vctx)
  if tostring(ac.remote_addr):find("^192.0.2.66:") then vctx:set_code(421, "4.7.0 not you", true) end
  return msys.core.VALIDATE_CONT
end
function mod:validate_rcptto(msg, str, ac, vctx)
  if msg:rcptto():find("^bad") then vctx:set_code(550, "5.1.1 no such user\n5.1.1 really") end
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  local subj = (msg:header("Subject") or {})[1] or ""
  msg:header("X-Seen", seen(msg, ac, vctx) .. " body=" .. #msg:body() .. " subject=" .. subj)
  if subj == "reject" then vctx:set_code(554, "5.7.1 rejected\r\nsecond line")
  elseif subj == "tempfail" then vctx:set_code(451, "4.7.1 later")
  elseif subj == "discard" then msg:discard()
  elseif subj == "edit" then
    msg:header("Subject", "edited")
    msg:header("X-Multi", "one\r\n two")
    msg:mailfrom("new@example.org")
    vctx:add_recipient("added@example.com")
    vctx:remove_recipient("b@example.com")
    msg:raw(msg:raw():gsub("\r\n\r\n.*", "\r\n\r\n" .. string.rep("x", 70000) .. "\r\n"))
  elseif subj == "quarantine" then vctx:quarantine("held for review")
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("direct", mod)`

// TestPlayDirectMatchesTheSocket plays transactions over the socket and
// in process against the same scripts and wants the same Trace, raw
// modifications included: the in-process driver stands in for the wire
// in the policy's tests only as long as this holds.
func TestPlayDirectMatchesTheSocket(t *testing.T) {
	tx := func(subject string, edit func(*milter.Transaction)) milter.Transaction {
		t := milter.Transaction{ClientIP: "192.0.2.1", ClientName: "c.example.net", Helo: "c.example.net", From: "a@example.org",
			Rcpts: []string{"b@example.com"}, QueueID: "Q1", Macros: map[string]string{"x": "y"},
			Message: []byte("Subject: " + subject + "\r\nX-Folded: a\r\n\tb\r\n\r\nbody\r\n")}
		if edit != nil {
			edit(&t)
		}
		return t
	}
	noBodyEdits := gomilter.AllClientSupportedActionMasks &^ gomilter.OptChangeBody
	cases := []struct {
		name string
		tx   milter.Transaction
	}{
		{"accept", tx("plain", nil)},
		{"reject at end", tx("reject", nil)},
		{"tempfail at end", tx("tempfail", nil)},
		{"discard", tx("discard", nil)},
		{"every edit", tx("edit", nil)},
		{"quarantine", tx("quarantine", nil)},
		{"refused at connect", tx("plain", func(t *milter.Transaction) { t.ClientIP = "192.0.2.66" })},
		{"one recipient refused", tx("plain", func(t *milter.Transaction) { t.Rcpts = []string{"bad@example.com", "b@example.com"} })},
		{"every recipient refused", tx("plain", func(t *milter.Transaction) { t.Rcpts = []string{"bad@example.com"} })},
		{"IPv6 client", tx("plain", func(t *milter.Transaction) { t.ClientIP = "2001:db8::1" })},
		{"empty body", tx("plain", func(t *milter.Transaction) { t.Message = []byte("Subject: plain\r\n\r\n") })},
		{"stage macros and args", tx("plain", func(t *milter.Transaction) {
			t.MailArgs, t.RcptArgs = "SIZE=10", []string{"NOTIFY=NEVER"}
			t.StageMacros = map[string]map[string]string{"mail": {"{auth_authen}": "u"}, "connect": {"{client_ptr}": "ptr.example"}}
			t.RcptMacros = []map[string]string{{"{rcpt_addr}": "b@example.com"}}
		})},
		{"exact macros", tx("plain", func(t *milter.Transaction) { t.Exact = true })},
		{"until rcpt", tx("plain", func(t *milter.Transaction) { t.Until = "rcpt" })},
		{"body edit not offered", tx("edit", func(t *milter.Transaction) { t.Actions = &noBodyEdits })},
	}
	for _, opts := range []milttest.Options{{}, {NegotiateAll: true}} {
		wire := milttest.Start(t, opts, directScript)
		opts.Direct = true
		direct := milttest.Start(t, opts, directScript)
		for _, tc := range cases {
			name := tc.name
			if opts.NegotiateAll {
				name += ", every event"
			}
			t.Run(name, func(t *testing.T) {
				w, err := wire.Play(tc.tx)
				if err != nil {
					t.Fatalf("socket: %v", err)
				}
				d, err := direct.Play(tc.tx)
				if err != nil {
					t.Fatalf("direct: %v", err)
				}
				wj, _ := json.MarshalIndent(w, "", " ")
				dj, _ := json.MarshalIndent(d, "", " ")
				if string(wj) != string(dj) || !reflect.DeepEqual(w.Raw, d.Raw) {
					t.Fatalf("socket:\n%s\ndirect:\n%s", wj, dj)
				}
				if tc.name == "every edit" && len(w.Modifications) < 6 {
					t.Fatalf("the edits were not made: %s", wj)
				}
			})
		}
	}
}

// TestDirectServerHasNoClient: a Direct server has no socket, and says so
// instead of dialling nothing.
func TestDirectServerHasNoSocket(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, acceptAll)
	if srv.Socket != "" {
		t.Fatalf("socket %q", srv.Socket)
	}
	tr, err := srv.Play(plainTx())
	if err != nil || tr.Final.Action != "accept" || !strings.Contains(strings.Join(stageNames(tr), " "), "connect helo mail rcpt") {
		t.Fatalf("%+v %v", tr, err)
	}
}

func stageNames(tr *milter.Trace) []string {
	var out []string
	for _, s := range tr.Stages {
		out = append(out, s.Stage)
	}
	return out
}
