package milter

import "testing"

// TestStageNames pins the names: recordings, metrics labels and log
// queries spell them, so a renamed stage would break them silently.
func TestStageNames(t *testing.T) {
	want := map[Stage]string{
		StageConnect: "connect", StageHelo: "helo", StageMail: "mail", StageRcpt: "rcpt", StageData: "data",
		StageHeader: "header", StageEOH: "eoh", StageBody: "body", StageEOM: "eom", StageAbort: "abort", StageClose: "close",
		0: "stage(0)",
	}
	seen := map[string]Stage{}
	for s := Stage(0); s <= StageClose; s++ {
		got := s.String()
		if got != want[s] {
			t.Errorf("Stage(%d) = %q, want %q", s, got, want[s])
		}
		if o, ok := seen[got]; ok {
			t.Errorf("stages %d and %d are both %q", o, s, got)
		}
		seen[got] = s
	}
}
