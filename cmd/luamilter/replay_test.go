package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/milter"
)

// replayPolicy rejects the recipients whose address contains one of the
// words and tags every message it takes, deterministically.
func replayPolicy(words ...string) string {
	return fmt.Sprintf(`
local m = {}
local words = {%s}
function m:validate_rcptto(msg, str, ac, vctx)
  for _, w in ipairs(words) do
    if string.find(str, w .. "@", 1, true) then vctx:set_code(550, "5.7.1 No mail for " .. w) return msys.core.VALIDATE_DONE end
  end
  return msys.core.VALIDATE_CONT
end
function m:validate_data_spool(msg, ac, vctx)
  local b = msg:body()
  msg:header("X-Body-Bytes", tostring(#b))
  return msys.core.VALIDATE_CONT
end
msys.registerModule("replay", m)
`, `"`+strings.Join(words, `", "`)+`"`)
}

// recordWith serves script with --record settings as serve does, plays
// txs through it and stops it, so the recording is complete.
func recordWith(t *testing.T, script, dir string, txs []milter.Transaction) {
	t.Helper()
	cfg := daemon.Default()
	cfg.Scripts = []daemon.Script{{Path: script}}
	sock := filepath.Join(t.TempDir(), "milter.sock")
	cfg.Listen = []string{"unix:" + sock}
	cfg.ControlSocket = "none"
	cfg.SpoolDir = t.TempDir()
	cfg.Record = dir
	d, err := daemon.New(cfg, daemon.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		d.Shutdown(context.Background())
		t.Fatal(err)
	}
	for _, tx := range txs {
		if _, err := milter.Play("unix", sock, tx); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.Shutdown(ctx)
}

// TestRecordReplay records traffic under policy A and replays it under A
// (nothing changes) and under B, which also refuses spam@ (exactly the
// transactions to spam@ change).
func TestRecordReplay(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.lua"), filepath.Join(dir, "b.lua")
	os.WriteFile(a, []byte(replayPolicy("nobody")), 0o644)
	os.WriteFile(b, []byte(replayPolicy("nobody", "spam")), 0o644)
	rcpts := [][]string{{"ok@example.com"}, {"nobody@example.com"}, {"spam@example.com"}, {"spam@example.com", "ok@example.com"},
		{"ok@example.com", "other@example.com"}, {"nobody@example.com", "spam@example.com"}}
	var txs []milter.Transaction
	for i := range 30 {
		r := rcpts[i%len(rcpts)]
		txs = append(txs, milter.Transaction{ClientIP: fmt.Sprintf("192.0.2.%d", i+1), ClientName: "client.example.net", Helo: "client.example.net",
			From: fmt.Sprintf("s%d@example.org", i), MailArgs: "SIZE=100", Rcpts: r, RcptArgs: []string{"NOTIFY=NEVER"}, QueueID: fmt.Sprintf("Q%d", i),
			Message: []byte(fmt.Sprintf("From: s%d@example.org\r\nSubject: test %d\r\n\r\n%s\r\n", i, i, strings.Repeat("x", i)))})
	}
	rec := filepath.Join(dir, "rec")
	recordWith(t, a, rec, txs)

	fi, err := os.Stat(rec)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("recording dir: %v %v", fi, err)
	}
	files, _ := filepath.Glob(filepath.Join(rec, "record-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no record files")
	}
	for _, f := range files {
		fi, _ := os.Stat(f)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var obj map[string]any
			if err := json.Unmarshal([]byte(line), &obj); err != nil || obj["format"] != float64(1) {
				t.Fatalf("line %q: format %v, err %v", line, obj["format"], err)
			}
		}
	}

	// Which transactions B must change: those with a spam@ recipient,
	// known by their sender (a record is written when its session ends,
	// so the recording's order need not be the order of play).
	want := map[string]string{}
	for _, tx := range txs {
		hasSpam, other := false, false
		for _, r := range tx.Rcpts {
			switch {
			case strings.HasPrefix(r, "spam@"):
				hasSpam = true
			case !strings.HasPrefix(r, "nobody@"):
				other = true
			}
		}
		if hasSpam {
			want[tx.From] = "accept->reject"
			if other {
				want[tx.From] = "accept->accept" // the other recipient still takes it
			}
		}
	}
	tests := []struct {
		name     string
		script   string
		changed  map[string]string // by sender
		byAction map[string]int
	}{
		{"same scripts", a, map[string]string{}, map[string]int{}},
		{"spam@ refused too", b, want, map[string]int{"accept->reject": 10, "accept->accept": 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, out := runBinary(t, nil, "replay", "--log-level", "error", "--json", "--jobs", "2", "--script", tc.script, rec)
			if rc != 0 {
				t.Fatalf("exit %d:\n%s", rc, out)
			}
			var rep replayReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			if rep.Total != len(txs) || rep.Changed != len(tc.changed) || rep.Failed != 0 {
				t.Fatalf("total %d changed %d failed %d, want %d %d 0:\n%s", rep.Total, rep.Changed, rep.Failed, len(txs), len(tc.changed), out)
			}
			for _, ch := range rep.Changes {
				from := strings.Trim(ch.From, "<>")
				o, n, _ := strings.Cut(tc.changed[from], "->")
				if tc.changed[from] == "" || !strings.HasPrefix(ch.Old, o) || !strings.HasPrefix(ch.New, n) {
					t.Errorf("change #%d from %s: %s => %s, want %q: %v", ch.Index, from, ch.Old, ch.New, tc.changed[from], ch.Diff)
				}
			}
			if fmt.Sprint(rep.ByAction) != fmt.Sprint(tc.byAction) {
				t.Errorf("by_action %v, want %v", rep.ByAction, tc.byAction)
			}
		})
	}
}

// TestReplaySpeed measures replay on 10,000 recorded transactions; it
// runs only with LUAMILTER_REPLAY_SPEED=1 and asserts nothing timed.
func TestReplaySpeed(t *testing.T) {
	if os.Getenv("LUAMILTER_REPLAY_SPEED") == "" {
		t.Skip("set LUAMILTER_REPLAY_SPEED=1 to measure")
	}
	dir := t.TempDir()
	a := filepath.Join(dir, "a.lua")
	os.WriteFile(a, []byte(replayPolicy("nobody")), 0o644)
	const n = 10000
	txs := make([]milter.Transaction, n)
	for i := range txs {
		txs[i] = milter.Transaction{ClientIP: "192.0.2.1", ClientName: "client.example.net", Helo: "client.example.net",
			From: "sender@example.org", Rcpts: []string{[]string{"ok@example.com", "nobody@example.com"}[i%10/9]}, QueueID: fmt.Sprintf("Q%d", i),
			Message: []byte("From: sender@example.org\r\nTo: ok@example.com\r\nSubject: load test\r\nMessage-ID: <x@example.org>\r\n\r\n" + strings.Repeat("body line\r\n", 100))}
	}
	rec := filepath.Join(dir, "rec")
	recordWith(t, a, rec, txs)
	files, _ := filepath.Glob(filepath.Join(rec, "record-*.jsonl"))
	var size int64
	for _, f := range files {
		fi, _ := os.Stat(f)
		size += fi.Size()
	}
	start := time.Now()
	rc, out := runBinary(t, nil, "replay", "--log-level", "error", "--json", "--script", a, rec)
	took := time.Since(start)
	var rep replayReport
	if rc != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Total != n || rep.Changed != 0 {
		t.Fatalf("exit %d, total %d, changed %d", rc, rep.Total, rep.Changed)
	}
	t.Logf("%d transactions, %d bytes recorded (%d per transaction); replay took %v: %.0f transactions/s",
		n, size, size/n, took, float64(n)/took.Seconds())
}
