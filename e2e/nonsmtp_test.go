package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPostfixLocalSubmission submits a message with Postfix's sendmail(1):
// non_smtpd_milters from the contrib snippet runs it through luamilter,
// without an SMTP session (pickup -> cleanup -> milter).
func TestPostfixLocalSubmission(t *testing.T) {
	s := requireBinary(t)
	startMilter(t, s, milterOpts{scripts: []string{stampPolicy}})
	m := s.postfix
	rcpt := "local+" + uniq() + "@example.com"
	cmd := exec.Command("/usr/sbin/sendmail", "-C", filepath.Join(s.state, "postfix", "etc"),
		"-f", "submitter@example.org", rcpt)
	cmd.Stdin = strings.NewReader(strings.ReplaceAll(
		message("submitter@example.org", rcpt, "local submission", nil, "via sendmail(1)\n"), "\r\n", "\n"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail(1): %v\n%s", err, out)
	}
	d := m.waitDelivery(t, rcpt)
	checkHeader(t, d, "X-E2E-Stamp", []string{"luamilter"})
	if d.Sender != "submitter@example.org" {
		t.Errorf("envelope sender %q", d.Sender)
	}
}
