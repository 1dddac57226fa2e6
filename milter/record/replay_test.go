package record

import (
	"testing"

	"github.com/luamilter/luamilter/milter"
)

// TestShowChangeIsMilters checks that a recorded change reads as the
// same change did in the log line of the session that made it.
func TestShowChangeIsMilters(t *testing.T) {
	for _, c := range []milter.Change{
		{Kind: milter.InsertHeader, Name: "X-Tag", Value: " yes", Index: 0},
		{Kind: milter.ChangeHeader, Name: "Subject", Index: 1},
		{Kind: milter.AddRcpt, Addr: "a@example.com", Args: "NOTIFY=NEVER"},
		{Kind: milter.ChangeFrom, Addr: "s@example.org"},
		{Kind: milter.ReplaceBody, BodySize: 7},
		{Kind: milter.Quarantine, Reason: "held"},
	} {
		if got, want := ShowChange(changes([]milter.Change{c})[0]), c.String(); got != want {
			t.Errorf("ShowChange = %q, want %q", got, want)
		}
	}
	if got := ShowChange(Change{Kind: "future_kind", Name: "X"}); got == ShowChange(Change{Kind: "future_kind", Name: "Y"}) {
		t.Errorf("unknown kinds render alike: %q", got)
	}
}

// TestShowReplyIsMilters checks that a recorded verdict reads as the
// verdict did when the session gave it.
func TestShowReplyIsMilters(t *testing.T) {
	for _, v := range []milter.Verdict{
		{Action: milter.Continue},
		{Action: milter.Accept},
		milter.Reply(550, "5.7.1 one\nline two"),
		milter.BusyReply(),
	} {
		if got, want := ShowReply(verdict(milter.StageMail, "a@example.com", v)), v.String(); got != want {
			t.Errorf("ShowReply = %q, want %q", got, want)
		}
	}
}
