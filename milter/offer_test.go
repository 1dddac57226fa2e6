package milter_test

import (
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/policy"
)

// TestEditsTheMTADidNotOfferAreErrors checks that a change the MTA did
// not offer at negotiation is neither sent nor claimed: it is logged at
// negotiation and, when a script makes it, the message gets the
// --on-error action with a log line naming the edit.
func TestEditsTheMTADidNotOfferAreErrors(t *testing.T) {
	const addHeader = `msys.registerModule("tag", {validate_data = function(self, msg, ac, vctx)
  msg:header("X-Tag", "yes") return msys.core.VALIDATE_CONT end})`
	none := gomilter.OptAction(0)
	headersOnly := gomilter.OptAddHeader | gomilter.OptChangeHeader
	rcptOnly := gomilter.OptAddRcpt | gomilter.OptRemoveRcpt
	tests := []struct {
		name    string
		offer   *gomilter.OptAction
		onError policy.OnError
		action  string
		reply   string
		mods    int
		missing string // the negotiation warning's list; "" for none
		refused bool   // the change is logged as refused
	}{
		{"all offered", nil, policy.ErrorTempfail, "accept", "", 1, "", false},
		{"header actions offered", &headersOnly, policy.ErrorTempfail, "accept", "", 1, "missing=replace_body,add_rcpt", false},
		{"none offered, on-error tempfail", &none, policy.ErrorTempfail, "tempfail", "451 4.3.0", 0, "missing=add_header,change_header,replace_body", true},
		{"recipients only, on-error reject", &rcptOnly, policy.ErrorReject, "reject", "554 5.3.0", 0, "missing=add_header,change_header", true},
		{"none offered, on-error accept", &none, policy.ErrorAccept, "accept", "", 0, "missing=add_header", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := milttest.Start(t, milttest.Options{OnError: tc.onError}, addHeader)
			tx := plainTx()
			tx.Actions = tc.offer
			tr, err := srv.Play(tx)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Final.Action != tc.action || !strings.HasPrefix(tr.Final.Reply, tc.reply) || len(tr.Modifications) != tc.mods {
				t.Fatalf("final %+v, modifications %v; want %s %q with %d modification(s)", tr.Final, tr.Modifications, tc.action, tc.reply, tc.mods)
			}
			logs := srv.Logs()
			if warned := strings.Contains(logs, "msg=\"the MTA does not offer modification actions"); warned != (tc.missing != "") ||
				!strings.Contains(logs, tc.missing) {
				t.Errorf("negotiation warning: got %v, want %q:\n%s", warned, tc.missing, logs)
			}
			refused := strings.Contains(logs, `msg="the MTA did not offer this change at negotiation; the message gets the --on-error action"`) &&
				strings.Contains(logs, `changes="insert_header 65536 X-Tag`)
			if refused != tc.refused {
				t.Errorf("refused change logged: %v, want %v:\n%s", refused, tc.refused, logs)
			}
			// The summary never claims a change the MTA was not sent.
			summary := ""
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, "msg=message ") {
					summary = line
				}
			}
			if claimed := strings.Contains(summary, `changes="insert_header`); claimed != (tc.mods > 0) {
				t.Errorf("summary claims the change: %v, want %v:\n%s", claimed, tc.mods > 0, logs)
			}
		})
	}
}
