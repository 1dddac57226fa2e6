package e2e

import (
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// splitPolicy edits every recipient's copy differently (X-Rcpt, exact only
// when the transaction carries that one recipient) and stamps every
// transaction with the MTA's listener port and the message id (X-Hop), so
// a delivered copy tells through which transaction of which hop it came.
const splitPolicy = policyPrelude + `
local mod = {}

function mod:validate_data(msg, ac, vctx)
  msg:header("X-Hop", msg:listener_addr("port") .. " " .. tostring(msg.id), "append")
  return CONT
end

function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  msg:header("X-Rcpt", msg:rcptto(), "append")
  return CONT
end

msys.registerModule("e2e_split", mod)
`

const (
	// Relay domains of the harness: each MTA sends its domain to the other.
	toSendmail = "to-sendmail.test"
	toPostfix  = "to-postfix.test"
	// splitQueueInterval replaces Sendmail's 30 s queue runs for the test:
	// a Sendmail sender holds the deferred recipients until the next run.
	splitQueueInterval = "10s"
	// splitTimeout bounds the wait for all recipients. Each retry gets
	// one more recipient through (the receiver splits again): Postfix
	// retries from its deferred queue after its backoff (about 10 s, then
	// 20 s in the harness), Sendmail at its next queue runs, so a Sendmail
	// sender's figures depend on where in the queue-run cycle the message
	// arrives (0 to 10 s for the first deferred recipient).
	splitTimeout = 90 * time.Second
)

// TestRecipientSplitSenders sends one message with three recipients
// through two real MTAs, the second hop relayed by Postfix or by Sendmail,
// and shows how each sender deals with per_recipient_edits = "split" on
// the receiving MTA: the receiver answers 452 4.5.3 to every recipient
// after the first, the sender delivers the rest in later transactions. It
// asserts what doesn't depend on timing (every recipient arrives once,
// with exactly its own edit, in as many transactions as recipients) and
// logs when each copy arrived and what the MTAs logged. Without split
// (merge) the receiver takes one transaction and drops the edits that
// differ between recipients.
func TestRecipientSplitSenders(t *testing.T) {
	s := requireBinary(t)
	s.postfix.useRelay(t, toSendmail, s.sendmail, "")
	s.sendmail.useRelay(t, toPostfix, s.postfix, splitQueueInterval)
	t.Logf("sender timers: Postfix queue_run_delay and minimal_backoff_time 10s, maximal_backoff_time 20s; Sendmail -q%s", splitQueueInterval)

	cases := []struct {
		name             string
		sender, receiver *mta
		domain           string
		split            bool
	}{
		{"postfix sends/split", s.postfix, s.sendmail, toSendmail, true},
		{"sendmail sends/split", s.sendmail, s.postfix, toPostfix, true},
		{"postfix sends/merge", s.postfix, s.sendmail, toSendmail, false},
		{"sendmail sends/merge", s.sendmail, s.postfix, toPostfix, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := milterOpts{scripts: []string{splitPolicy}}
			if tc.split {
				// Only the receiving hop splits: the first hop's client
				// is this test, which doesn't come back for the rest.
				opts.extra = []string{"--per-recipient-edits", "split",
					"--split-listener", strconv.Itoa(tc.receiver.port)}
			}
			p := startMilter(t, s, opts)
			id := uniq()
			var rcpts []string
			for i := 1; i <= 3; i++ {
				rcpts = append(rcpts, fmt.Sprintf("r%d+%s@%s", i, id, tc.domain))
			}
			deliverOne(t, tc.sender, "sender+"+id+"@example.org", rcpts,
				message("sender@example.org", rcpts[0], "split "+id, nil, "one copy each\n"))
			submitted := time.Now()

			copies := waitCopies(t, tc.receiver, rcpts, submitted)
			logCopies(t, tc.receiver, copies)
			t.Logf("%s log:\n%s", tc.sender.name, tc.sender.logLines(id))
			t.Logf("%s log:\n%s", tc.receiver.name, tc.receiver.logLines(id))

			txns := map[string]bool{}
			for _, rcpt := range rcpts {
				got := copiesFor(copies, rcpt)
				if len(got) != 1 {
					t.Errorf("%s: %d copies, want 1", rcpt, len(got))
					continue
				}
				c := got[0]
				txns[c.hop] = true
				want := []string(nil)
				if tc.split {
					want = []string{rcpt}
				}
				if x := c.header["X-Rcpt"]; !slices.Equal(x, want) {
					t.Errorf("%s: X-Rcpt %q, want %q", rcpt, x, want)
				}
			}
			wantTxns := 1
			if tc.split {
				wantTxns = len(rcpts)
			}
			if len(txns) != wantTxns {
				t.Errorf("%s received the recipients in %d transactions, want %d", tc.receiver.name, len(txns), wantTxns)
			}
			// The receiver's warning names its queue id; the first hop
			// merges (and warns) in every case.
			logs := strings.Split(p.logs.String(), "\n")
			for hop := range txns {
				qid, _, _ := strings.Cut(hop, "/")
				warned := slices.ContainsFunc(logs, func(l string) bool {
					return strings.Contains(l, "per-recipient edits differ") && strings.Contains(l, "queue_id="+qid+" ")
				})
				if warned == tc.split {
					t.Errorf("%s transaction %s: warning about differing edits logged: %v, want %v", tc.receiver.name, qid, warned, !tc.split)
				}
			}
		})
	}
}

// relayedCopy is one delivered copy of the test message.
type relayedCopy struct {
	rcpt   string
	after  time.Duration // from the end of the first hop's transaction
	hop    string        // message id of the receiving hop's transaction (X-Hop)
	header mail.Header
}

// waitCopies waits until the receiver's sink holds a copy for every
// recipient and returns all copies for them, in order of arrival.
func waitCopies(t *testing.T, m *mta, rcpts []string, since time.Time) []relayedCopy {
	t.Helper()
	deadline := time.Now().Add(splitTimeout)
	for {
		copies, err := scanCopies(m, rcpts, since)
		if err != nil {
			t.Fatal(err)
		}
		missing := slices.DeleteFunc(slices.Clone(rcpts), func(r string) bool {
			return len(copiesFor(copies, r)) > 0
		})
		if len(missing) == 0 {
			return copies
		}
		if time.Now().After(deadline) {
			logCopies(t, m, copies)
			t.Fatalf("%s: nothing for %s within %v after submission; log:\n%s",
				m.name, strings.Join(missing, ", "), splitTimeout, m.logTail(40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scanCopies reads the sink's copies for rcpts. The arrival time is the
// envelope file's modification time: deliver.sh renames it into place
// last.
func scanCopies(m *mta, rcpts []string, since time.Time) ([]relayedCopy, error) {
	found, err := m.sinkCopies(func(rcpt string) bool {
		return slices.ContainsFunc(rcpts, func(r string) bool { return strings.EqualFold(r, rcpt) })
	})
	if err != nil {
		return nil, err
	}
	var copies []relayedCopy
	for _, f := range found {
		c := relayedCopy{rcpt: f.fields["recipient"], after: f.modTime.Sub(since), header: f.msg.Header}
		// X-Hop is "PORT ID"; the receiving hop's is the one with its port.
		for _, h := range f.msg.Header["X-Hop"] {
			if port, hid, ok := strings.Cut(h, " "); ok && port == strconv.Itoa(m.port) {
				c.hop = hid
			}
		}
		copies = append(copies, c)
	}
	slices.SortFunc(copies, func(a, b relayedCopy) int { return int(a.after - b.after) })
	return copies, nil
}

func copiesFor(copies []relayedCopy, rcpt string) []relayedCopy {
	var out []relayedCopy
	for _, c := range copies {
		if strings.EqualFold(c.rcpt, rcpt) {
			out = append(out, c)
		}
	}
	return out
}

// logCopies records when each copy arrived: the figures the split rule
// costs, which depend on the sender's retry timers.
func logCopies(t *testing.T, m *mta, copies []relayedCopy) {
	t.Helper()
	for _, c := range copies {
		t.Logf("%s delivered %s %.1fs after submission, transaction %s, X-Rcpt %q",
			m.name, c.rcpt, c.after.Seconds(), c.hop, c.header["X-Rcpt"])
	}
}

// logLines returns the MTA's log lines that contain s.
func (m *mta) logLines(s string) string {
	data, err := os.ReadFile(filepath.Join(m.suite.state, m.name, "maillog"))
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
