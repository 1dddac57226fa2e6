package policy_test

import (
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

// calloutScript runs body in one callout; args names its parameters.
func calloutScript(callout, args, body string) string {
	return `
local mod = {}
function mod:` + callout + `(` + args + `)
` + body + `
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
}

func TestRecipientEdits(t *testing.T) {
	cases := []struct {
		name, callout, args, lua string
		mods                     []string
		want                     []string
	}{
		{"add in data", "validate_data", "msg, ac, vctx", `vctx:add_recipient("new@example.com")`,
			[]string{"add_rcpt <new@example.com>"}, nil},
		{"add table in spool", "validate_data_spool", "msg, ac, vctx", `vctx:add_recipient({"x@example.com", "<y@example.com>"})`,
			[]string{"add_rcpt <x@example.com>", "add_rcpt <y@example.com>"}, nil},
		{"add existing is no change", "validate_data", "msg, ac, vctx", `vctx:add_recipient("B@example.com")`, nil, nil},
		{"add in rcptto", "validate_rcptto", "msg, str, ac, vctx", `vctx:add_recipient("extra@example.com")`,
			[]string{"add_rcpt <extra@example.com>"}, nil},
		{"remove in data", "validate_data", "msg, ac, vctx", `vctx:remove_recipient("a@example.com")`,
			[]string{"del_rcpt <a@example.com>"}, nil},
		{"remove in each_rcpt", "validate_data_spool_each_rcpt", "msg, ac, vctx", `vctx:remove_recipient("b@example.com")`,
			[]string{"del_rcpt <b@example.com>"}, nil},
		{"add then remove is nothing", "validate_data", "msg, ac, vctx", `vctx:add_recipient("n@example.com") vctx:remove_recipient("n@example.com")`, nil, nil},
		{"list is 0-based", "validate_data", "msg, ac, vctx", `local l = vctx:recipient_list() report(vctx, l[0], l[1], tostring(l[2]))`,
			nil, []string{"a@example.com", "b@example.com", "nil"}},
		{"list in rcptto_list_final", "validate_rcptto_list_final", "str, vctx", `local l = vctx:recipient_list() report(vctx, l[0], l[1])`,
			nil, []string{"a@example.com", "b@example.com"}},
		{"list replace", "validate_data", "msg, ac, vctx", `vctx:recipient_list({"b@example.com", "c@example.com"})`,
			[]string{"del_rcpt <a@example.com>", "add_rcpt <c@example.com>"}, nil},
		{"list replace with string", "validate_data", "msg, ac, vctx", `vctx:recipient_list("c@example.com")`,
			[]string{"del_rcpt <a@example.com>", "del_rcpt <b@example.com>", "add_rcpt <c@example.com>"}, nil},
		{"list sees edits", "validate_data", "msg, ac, vctx", `vctx:add_recipient("c@example.com") vctx:remove_recipient("a@example.com")
			local l = vctx:recipient_list() report(vctx, l[0], l[1])`, nil, []string{"b@example.com", "c@example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, calloutScript(tc.callout, tc.args, tc.lua))
			tr := play(t, s, plainMsg, "a@example.com", "b@example.com")
			if tc.want != nil {
				wantReported(t, s, tr, tc.want)
				return
			}
			// validate_rcptto runs once per recipient: the add is idempotent.
			wantAccepted(t, s, tr, tc.mods)
		})
	}
}

func TestRecipientPhaseErrors(t *testing.T) {
	cases := []struct{ name, callout, args, lua, stage, log string }{
		{"list in rcptto", "validate_rcptto", "msg, str, ac, vctx", `vctx:recipient_list()`, "rcpt", "must not be called in validate_rcptto"},
		{"add before mail", "validate_ehlo", "str, ac, vctx", `vctx:add_recipient("x@example.com")`, "helo", "only valid during a transaction"},
		{"remove in connect", "validate_connect", "ac, vctx", `vctx:remove_recipient("x@example.com")`, "connect", "only valid during a transaction"},
		{"bad list arg", "validate_data", "msg, ac, vctx", `vctx:add_recipient(42 > 1)`, "eom", "string or table of strings expected"},
		{"tarpit range", "validate_connect", "ac, vctx", `vctx:tarpit(1000)`, "connect", "between 0 and 300"},
		{"tarpit type", "validate_connect", "ac, vctx", `vctx:tarpit("soon")`, "connect", "number expected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, calloutScript(tc.callout, tc.args, tc.lua))
			tr := play(t, s, plainMsg)
			var st *milter.StageResult
			for i := range tr.Stages {
				if tr.Stages[i].Stage == tc.stage {
					st = &tr.Stages[i]
				}
			}
			if st == nil || st.Code != 451 {
				t.Fatalf("stage %s not tempfailed: %+v", tc.stage, tr.Stages)
			}
			if !strings.Contains(s.Logs(), tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, s.Logs())
			}
		})
	}
}

func TestTarpit(t *testing.T) {
	// Only that a valid tarpit is accepted and the session goes on; the
	// delay itself is not timed here.
	s := startMsg(t, milttest.Options{}, calloutScript("validate_connect", "ac, vctx", `vctx:tarpit(0) vctx:tarpit(0.001)`))
	tr := play(t, s, plainMsg)
	if tr.Final.Action != "accept" {
		t.Fatalf("final %+v\n%s", tr.Final, s.Logs())
	}
}

func TestAcceptObject(t *testing.T) {
	cases := []struct {
		name, ip, callout, args, lua string
		want                         []string
	}{
		{"ipv4 remote_addr", "192.0.2.7", "validate_connect", "ac, vctx",
			`local a = tostring(ac.remote_addr) report(vctx, a, string.match(a, "(.*):%d"), msys.core.ec_sockaddr_family(ac.remote_addr) == msys.core.AF_INET)`,
			[]string{"192.0.2.7:25000", "192.0.2.7", "true"}},
		{"ipv6 remote_addr", "2001:db8::25", "validate_connect", "ac, vctx",
			`local a = tostring(ac.remote_addr) report(vctx, a, string.match(a, "(.*):%d"), msys.core.ec_sockaddr_family(ac.remote_addr) == msys.core.AF_INET6)`,
			[]string{"2001:db8::25:25000", "2001:db8::25", "true"}},
		{"protocol and conn_id", "192.0.2.7", "validate_connect", "ac, vctx",
			`report(vctx, ac.protocol == msys.core.P_ESMTP, type(ac.conn_id), tostring(ac.conn_id))`,
			[]string{"true", "string", "1"}},
		{"inbound_session_count", "192.0.2.7", "validate_connect", "ac, vctx",
			`report(vctx, ac:inbound_session_count(), ac:inbound_session_count("/24"), ac:inbound_session_count("198.51.100.0/24"), ac:inbound_session_count("/32", "ECStream"))`,
			[]string{"1", "1", "0", "0"}},
		{"message construct in data", "192.0.2.7", "validate_data", "msg, ac, vctx",
			`local mc = msys.core.accept_construct_get_message_construct(ac) report(vctx, mc.message == msg, mc.ctx == vctx)`,
			[]string{"true", "true"}},
		{"message construct before mail", "192.0.2.7", "validate_connect", "ac, vctx",
			`local mc = msys.core.accept_construct_get_message_construct(ac) report(vctx, tostring(mc.message), mc.ctx == vctx)`,
			[]string{"nil", "true"}},
		{"msg recv_from", "192.0.2.7", "validate_data", "msg, ac, vctx",
			`report(vctx, tostring(msg.recv_from))`, []string{"192.0.2.7:25000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, calloutScript(tc.callout, tc.args, tc.lua))
			tr, err := s.Play(milter.Transaction{ClientIP: tc.ip, ClientName: "c.example.net", Helo: "c.example.net",
				From: "a@example.org", Rcpts: []string{"b@example.com"}, Message: []byte(plainMsg)})
			if err != nil {
				t.Fatal(err)
			}
			var text string
			for _, st := range tr.Stages {
				if strings.Contains(st.Reply, "R:") {
					text = st.Reply
				}
			}
			tr.Final.Reply = text
			wantReported(t, s, tr, tc.want)
		})
	}
}
