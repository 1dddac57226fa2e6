package policy_test

import (
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// TestFinalValidation: core_final_validation(msg, ac, vctx) runs at end
// of message after validate_set_binding, once, and its edits reach the
// MTA like validate_data_spool's.
func TestFinalValidation(t *testing.T) {
	two := []string{"a@example.com", "b@example.com"}
	cases := []struct {
		name, script string
		rcpts        []string
		final        string
		mods         []string
		log          string
	}{
		{"signature header is added", `local mod = {}
function mod:core_final_validation(msg, accept, vctx)
  msg:header("DKIM-Signature", "v=1; d=" .. vctx:get(msys.core.VCTX_MESS, "mailfrom_domain") .. "; from=" .. tostring(accept.remote_addr), "prepend")
end
msys.registerModule("t", mod)`, two, "accept", []string{"insert_header 0 DKIM-Signature: v=1; d=example.org; from=192.0.2.1:25000"}, ""},
		{"after validate_set_binding", `local mod = {}
function mod:validate_set_binding(msg)
  msg:context_set(msys.core.ECMESS_CTX_MESS, "bound", "yes")
  return msys.core.VALIDATE_CONT
end
function mod:core_final_validation(msg, accept, vctx)
  msg:header("X-Bound", msg:context_get(msys.core.ECMESS_CTX_MESS, "bound"))
end
msys.registerModule("t", mod)`, []string{"a@example.com"}, "accept", []string{"insert_header 65536 X-Bound: yes"}, ""},
		{"body edit applies with two recipients", `local mod = {}
function mod:core_final_validation(msg, accept, vctx)
  msg:body("signed\r\n.\r\n")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`, two, "accept", []string{`replace_body "signed\r\n"`}, ""},
		{"every module runs whatever the return", `local a, b = {}, {}
function a:core_final_validation(msg) msg:header("X-A", "1") return msys.core.VALIDATE_DONE end
function b:core_final_validation(msg) msg:header("X-B", "1") end
msys.registerModule("a", a)
msys.registerModule("b", b)`, []string{"a@example.com"}, "accept",
			[]string{"insert_header 65536 X-A: 1", "insert_header 65536 X-B: 1"}, ""},
		{"a code can't refuse", `local mod = {}
function mod:core_final_validation(msg, accept, vctx)
  vctx:set_code(550, "5.7.1 no")
end
msys.registerModule("t", mod)`, []string{"a@example.com"}, "accept", nil, "a code set in core_final_validation can't refuse the message"},
		{"an error gets the on-error action", `local mod = {}
function mod:core_final_validation(msg, accept, vctx)
  error("signing key missing")
end
msys.registerModule("t", mod)`, []string{"a@example.com"}, "tempfail", nil, "signing key missing"},
		{"not after a discard", `local mod = {}
function mod:validate_data(msg, accept, vctx) msg:discard() return msys.core.VALIDATE_CONT end
function mod:core_final_validation(msg, accept, vctx) error("ran after discard") end
msys.registerModule("t", mod)`, []string{"a@example.com"}, "discard", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, tc.script)
			tr := play(t, s, plainMsg, tc.rcpts...)
			wantOutcome(t, s, tr, tc.final, tc.mods, tc.log)
			if strings.Contains(s.Logs(), "callout returned nothing") {
				t.Fatalf("a hook that returns nothing was warned about:\n%s", s.Logs())
			}
		})
	}
}

// TestValidateAccept: core_validate_accept(ac, vctx) runs at connect
// before validate_connect and can refuse the connection.
func TestValidateAccept(t *testing.T) {
	cases := []struct {
		name, body string
		final      string // stage action reply
	}{
		{"runs before validate_connect", `vctx:set(msys.core.VCTX_CONN, "accepted", tostring(ac.remote_addr))`,
			"eom tempfail 451 4.7.1 connect saw 192.0.2.1:25000"},
		{"refuses the connection", `vctx:set_code(554, "5.7.1 not from you")`, "connect reject 554 5.7.1 not from you"},
		{"disconnects", `vctx:disconnect(421, "4.7.1 busy")`, "connect tempfail 421 4.7.1 busy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, `local mod = {}
function mod:core_validate_accept(ac, vctx)
  `+tc.body+`
  return msys.core.VALIDATE_CONT
end
function mod:validate_connect(ac, vctx)
  vctx:set(msys.core.VCTX_CONN, "seen", tostring(vctx:get(msys.core.VCTX_CONN, "accepted")))
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  vctx:set_code(451, "4.7.1 connect saw " .. vctx:get(msys.core.VCTX_CONN, "seen"))
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`)
			tr := play(t, s, plainMsg)
			if got := tr.Final.Stage + " " + tr.Final.Action + " " + tr.Final.Reply; got != tc.final {
				t.Fatalf("final %q, want %q\n%s", got, tc.final, s.Logs())
			}
		})
	}
}
