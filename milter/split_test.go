package milter_test

import (
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// bodyReader reads the body, so the body is negotiated and sent, and
// reports what it saw in a header it adds.
const bodyReader = `msys.registerModule("r", {validate_data = function(self, msg, ac, vctx)
  local subj = msg:header("Subject")
  msg:header("X-Seen", "subject=" .. tostring(subj and subj[1]) .. " body=" .. #msg:body())
  return msys.core.VALIDATE_CONT end})`

// TestPlayTakesWhatAnMTATakes plays messages an MTA accepts although
// they bend the format: a header line without a colon ends the header
// block (Postfix passes the rest as body), and an empty body is a body.
func TestPlayTakesWhatAnMTATakes(t *testing.T) {
	tests := []struct {
		name, msg, seen string
	}{
		{"plain", "Subject: hi\r\n\r\nbody\r\n", "subject=hi body=6"},
		{"empty body", "Subject: hi\r\n\r\n", "subject=hi body=0"},
		{"headers only, no blank line", "Subject: hi\r\n", "subject=hi body=0"},
		{"empty message", "", "subject=nil body=0"},
		{"line without a colon ends the headers", "Subject: hi\nThis is no header\nX-Later: 1\n\nbody\n", "subject=hi body=39"},
		{"mbox From line", "From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody\n", "subject=nil body=72"},
		{"blank before colon", "Subject : hi\n\nb\n", "subject=hi body=3"},
		{"continuation first", " folded\nSubject: hi\n\nb\n", "subject=nil body=27"},
	}
	srv := milttest.Start(t, milttest.Options{}, bodyReader)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := plainTx()
			tx.Message = []byte(tc.msg)
			tr, err := srv.Play(tx)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Final.Action != "accept" || len(tr.Modifications) != 1 || !strings.HasSuffix(tr.Modifications[0], "X-Seen: "+tc.seen) {
				t.Fatalf("final %+v, modifications %q; want accept with %q", tr.Final, tr.Modifications, tc.seen)
			}
		})
	}
}
