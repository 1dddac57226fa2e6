package policy_test

import (
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// TestRecipientCopies: each recipient has its own message and message
// context through validate_data_spool_each_rcpt and validate_set_binding.
func TestRecipientCopies(t *testing.T) {
	two := []string{"a@example.com", "b@example.com"}
	const setBinding = `
function mod:validate_set_binding(msg)
  print("rcpt=" .. msg:rcptto() .. " who=" .. tostring(msg:context_get(msys.core.ECMESS_CTX_MESS, "who")))
  %s
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
	script := func(each, bind string) string {
		return `local mod = {}
function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  ` + each + `
  return msys.core.VALIDATE_CONT
end` + strings.Replace(setBinding, "%s", bind, 1)
	}
	cases := []struct {
		name, each, bind string
		final            string
		mods             []string
		logs             []string
	}{
		{"context set for a recipient is that recipient's", `vctx:set(msys.core.VCTX_MESS, "who", msg:rcptto())`, "",
			"accept", nil, []string{"rcpt=a@example.com who=a@example.com", "rcpt=b@example.com who=b@example.com"}},
		{"a header set in set_binding is not shown to the other recipient", "", `msg:header("X-Bcc", msg:rcptto())`,
			"accept", nil, []string{"not_applied=X-Bcc"}},
		{"the same header set in set_binding for both applies", "", `msg:header("X-Bound", "pool")`,
			"accept", []string{"insert_header 65536 X-Bound: pool"}, nil},
		{"discard in set_binding drops that recipient", "", `if msg:rcptto() == "a@example.com" then msg:discard() end`,
			"accept", []string{"del_rcpt <a@example.com>"}, nil},
		{"discard in set_binding for all discards the message", "", `msg:discard()`, "discard", nil, nil},
		{"each recipient sees its own copy's edits only", `msg:header("X-Seen", msg:rcptto())`,
			`if msg:header("X-Seen")[1] ~= msg:rcptto() then error("saw " .. msg:header("X-Seen")[1]) end`,
			"accept", nil, []string{"not_applied=X-Seen"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, script(tc.each, tc.bind))
			tr := play(t, s, plainMsg, two...)
			log := ""
			if len(tc.logs) > 0 {
				log = tc.logs[0]
			}
			wantOutcome(t, s, tr, tc.final, tc.mods, log)
			for _, l := range tc.logs {
				if !strings.Contains(s.Logs(), l) {
					t.Errorf("log lacks %q\n%s", l, s.Logs())
				}
			}
		})
	}
}

// TestRecipientCopiesEnvelope: a recipient added before the copies and
// dropped in validate_data_spool_each_rcpt stays dropped: the other
// recipients' copies, made with it in their list, don't bring it back.
func TestRecipientCopiesEnvelope(t *testing.T) {
	cases := []struct {
		name, each string
		mods       []string
	}{
		{"added recipient kept", ``, []string{"add_rcpt <c@example.com>"}},
		{"added recipient rejected", `if msg:rcptto() == "c@example.com" then vctx:set_code(550, "no") end`, nil},
		{"added recipient discarded", `if msg:rcptto() == "c@example.com" then msg:discard() end`, nil},
		{"added recipient removed by another's copy", `if msg:rcptto() == "a@example.com" then vctx:remove_recipient("c@example.com") end`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, `local mod = {}
function mod:validate_data_spool(msg, ac, vctx)
  vctx:add_recipient("c@example.com")
  return msys.core.VALIDATE_CONT
end
function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  `+tc.each+`
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`)
			tr := play(t, s, plainMsg, "a@example.com", "b@example.com")
			wantOutcome(t, s, tr, "accept", tc.mods, "")
		})
	}
}
