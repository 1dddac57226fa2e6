package policy_test

import (
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// TestDryRunEdits: nothing a dry-run module does reaches the MTA, the
// message context variable "quarantine" included, in every data phase.
func TestDryRunEdits(t *testing.T) {
	cases := []struct{ name, callout, body string }{
		{"header", "validate_data", `msg:header("X-Dry", "yes")`},
		{"quarantine", "validate_data", `msg:quarantine("held")`},
		{"quarantine through the context", "validate_data", `vctx:set(msys.core.VCTX_MESS, "quarantine", "held")`},
		{"quarantine through the context, one recipient", "validate_data_spool_each_rcpt",
			`vctx:set(msys.core.VCTX_MESS, "quarantine", "held")`},
		{"header, one recipient", "validate_set_binding", `msg:header("X-Dry", "yes")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := "msg, ac, vctx"
			if tc.callout == "validate_set_binding" {
				args = "msg"
			}
			s := startMsg(t, milttest.Options{DryRun: true}, calloutScript(tc.callout, args, tc.body))
			tr := play(t, s, plainMsg, "a@example.com", "b@example.com")
			wantOutcome(t, s, tr, "accept", nil, "dry run: not applied")
		})
	}
}
