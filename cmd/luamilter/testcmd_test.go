package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ciPolicy reads the body (so the whole message is sent), rejects by
// subject, quarantines on request and tags every message it accepts.
const ciPolicy = `
local m = {}
function m:validate_data(msg, ac, vctx)
  local s = msg:header("Subject")
  s = (s and s[1]) or ""
  local body = msg:body() or ""
  if s:match("reject me") then vctx:set_code(550, "5.7.1 Rejected by subject") return msys.core.VALIDATE_DONE end
  if s:match("hold me") then msg:quarantine("held for review") end
  msg:header("X-Body-Bytes", tostring(#body))
  return msys.core.VALIDATE_CONT
end
msys.registerModule("ci", m)
`

// testDir writes the policy and the given files into a temp dir.
func testDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["policy.lua"] = ciPolicy
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	okMsg     = "From: a@example.org\nSubject: hello\n\nbody\n"
	rejectMsg = "From: a@example.org\nSubject: please reject me\n\nbody\n"
	holdMsg   = "From: a@example.org\nSubject: hold me\n\nbody\n"
)

// TestTestCommand runs `luamilter test` over files, directories, mboxes
// and Maildirs, with flags in any position, and checks the output and
// the exit status.
func TestTestCommand(t *testing.T) {
	dir := testDir(t, map[string]string{
		"a.eml": okMsg, "b.eml": rejectMsg, "held.eml": holdMsg,
		"nocolon.eml": "Subject: hello\nThis line has no colon\n\nbody\n",
		"empty.eml":   "Subject: hello\n\n",
		"box.mbox": "From a@example.org Mon Jan  1 00:00:00 2024\n" + okMsg + "\n" +
			"From b@example.org Mon Jan  1 00:00:01 2024\n" + rejectMsg + "\n" +
			"From c@example.org Mon Jan  1 00:00:02 2024\n" + "Subject: quoted\n\n>From the start\n",
		"maildir/cur/1:2,S": okMsg, "maildir/new/2": okMsg, "maildir/tmp/3": rejectMsg,
		"tree/x/1.eml": okMsg, "tree/.hidden": rejectMsg,
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	script := []string{"--script", p("policy.lua")}
	tests := []struct {
		name string
		args []string
		rc   int
		want []string
		not  []string
	}{
		{"one message, flag after it", []string{p("a.eml"), "--script", p("policy.lua")}, 0,
			[]string{"eom                                   accept", "final: accept", "X-Body-Bytes: 6"}, []string{"eoh"}},
		{"two messages: both tested", append([]string{p("a.eml"), p("b.eml")}, script...), 0,
			[]string{"a.eml", "b.eml", "reject  550 5.7.1 Rejected by subject", "2 message(s): 2 passed"}, nil},
		{"expect holds", append([]string{p("a.eml"), "--expect", "accept", p("nocolon.eml"), p("empty.eml")}, script...), 0,
			[]string{"3 message(s): 3 passed, 0 failed, 0 error(s)"}, nil},
		{"expect misses: diff and exit 1", append([]string{p("a.eml"), p("b.eml"), "--expect", "accept"}, script...), 1,
			[]string{"b.eml  reject", "MISS", "--- " + p("b.eml") + ": expected", "-action: accept", "+action: reject", "1 passed, 1 failed"}, nil},
		{"single message miss", append([]string{p("b.eml"), "--expect", "accept"}, script...), 1,
			[]string{"final: reject", "-action: accept", "+action: reject"}, nil},
		{"quarantine", append([]string{p("held.eml"), "--expect", "quarantine"}, script...), 0, []string{"quarantine \"held for review\""}, nil},
		{"mbox", append([]string{p("box.mbox")}, script...), 0,
			[]string{"box.mbox:1  accept", "box.mbox:2  reject", "box.mbox:3  accept", "3 message(s)"}, nil},
		{"maildir skips tmp", append([]string{p("maildir"), "--expect", "accept"}, script...), 0, []string{"2 message(s): 2 passed"}, nil},
		{"directory skips hidden files", append([]string{p("tree"), "--expect", "accept"}, script...), 0, []string{"final: accept"}, nil},
		{"bad expect", append([]string{p("a.eml"), "--expect", "bounce"}, script...), 2, []string{`expected action "bounce"`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, out := runBinary(t, nil, append([]string{"test", "--log-level", "error"}, tc.args...)...)
			if rc != tc.rc {
				t.Errorf("rc %d, want %d", rc, tc.rc)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestTestCommandJSON checks that --json after a file is applied.
func TestTestCommandJSON(t *testing.T) {
	dir := testDir(t, map[string]string{"a.eml": okMsg, "b.eml": rejectMsg})
	rc, out := runBinary(t, nil, "test", "--log-level", "error", filepath.Join(dir, "a.eml"), "--json", "--script", filepath.Join(dir, "policy.lua"))
	var tr struct{ Final struct{ Action string } }
	if rc != 0 || json.Unmarshal([]byte(out), &tr) != nil || tr.Final.Action != "accept" {
		t.Fatalf("rc %d, output not a trace:\n%s", rc, out)
	}
	rc, out = runBinary(t, nil, "test", "--log-level", "error", filepath.Join(dir, "a.eml"), filepath.Join(dir, "b.eml"), "--json",
		"--expect", "accept", "--script", filepath.Join(dir, "policy.lua"))
	var all struct {
		Results []struct {
			Action string
			OK     bool
			Diff   []string
		}
		Passed, Failed int
	}
	if err := json.Unmarshal([]byte(out), &all); err != nil || rc != 1 || all.Passed != 1 || all.Failed != 1 || all.Results[1].Action != "reject" {
		t.Fatalf("rc %d, err %v, output:\n%s", rc, err, out)
	}
}

// TestTestManifest runs a manifest with envelope, macros and
// expectations per entry.
func TestTestManifest(t *testing.T) {
	dir := testDir(t, map[string]string{"msgs/a.eml": okMsg, "msgs/b.eml": rejectMsg, "manifest.toml": `
[[message]]
file = "msgs/a.eml"
from = "x@example.org"
rcpts = ["r1@example.com", "r2@example.com"]
macros = { "{auth_authen}" = "alice" }
expect = "accept"
modifications = ["insert_header 65536 X-Body-Bytes: 6"]

[[message]]
name = "rejected by subject"
file = "msgs/b.eml"
expect = "reject"
reply = "550 5.7.1 Rejected by subject"

[[message]]
name = "inline, wrong expectation"
text = "Subject: hello\n\nxy\n"
expect = "accept"
reply = ""
modifications = []
`})
	rc, out := runBinary(t, nil, "test", "--log-level", "error", "--manifest", filepath.Join(dir, "manifest.toml"), "--script", filepath.Join(dir, "policy.lua"))
	for _, w := range []string{"msgs/a.eml", "rejected by subject", "inline, wrong expectation", "MISS",
		"--- inline, wrong expectation: expected", "+modification: insert_header 65536 X-Body-Bytes: 4", "3 message(s): 2 passed, 1 failed"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if rc != 1 {
		t.Errorf("rc %d, want 1", rc)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[[message]]\nfile = \"nope.eml\"\nexpect = \"maybe\"\ncolour = 1\n"), 0o644)
	rc, out = runBinary(t, nil, "test", "--manifest", bad, "--script", filepath.Join(dir, "policy.lua"))
	if rc != 2 || !strings.Contains(out, `unknown key "message.colour"`) || !strings.Contains(out, "nope.eml") {
		t.Errorf("bad manifest: rc %d\n%s", rc, out)
	}
}

func TestSplitMbox(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"From a Mon\nSubject: 1\n\nx\n\nFrom b Tue\nSubject: 2\n\n>From here\n>>From there\nFrom mid-line stays\n",
			[]string{"Subject: 1\n\nx\n", "Subject: 2\n\nFrom here\n>From there\nFrom mid-line stays\n"}},
		{"From a Mon\r\nSubject: 1\r\n\r\nx\r\n", []string{"Subject: 1\r\n\r\nx\r\n"}},
	}
	for _, tc := range tests {
		got := splitMbox([]byte(tc.in))
		if len(got) != len(tc.want) {
			t.Fatalf("%q: %d messages, want %d", tc.in, len(got), len(tc.want))
		}
		for i := range got {
			if string(got[i]) != tc.want[i] {
				t.Errorf("%q message %d: %q, want %q", tc.in, i+1, got[i], tc.want[i])
			}
		}
	}
}

// TestTestCommandUsesServeSettings checks that `luamilter test` plays
// under the settings serve would use from the same configuration: the
// message size limit, and Validate's refusal of impossible values.
func TestTestCommandUsesServeSettings(t *testing.T) {
	dir := testDir(t, map[string]string{"a.eml": okMsg,
		"small.toml":  "max_message_size = 3\n",
		"broken.toml": "max_sessions = 0\n"})
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name      string
		args      []string
		rc        int
		want, not string
	}{
		{"max_message_size from the config file", []string{"--config", p("small.toml"), "--expect", "accept"}, 1, "+action: reject", ""},
		{"a config serve refuses", []string{"--config", p("broken.toml")}, 2, "max_sessions = 0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"test", "--log-level", "error", "--script", p("policy.lua"), p("a.eml")}, tc.args...)
			rc, out := runBinary(t, nil, args...)
			if rc != tc.rc || !strings.Contains(out, tc.want) || (tc.not != "" && strings.Contains(out, tc.not)) {
				t.Errorf("rc %d (want %d), output should have %q and not %q:\n%s", rc, tc.rc, tc.want, tc.not, out)
			}
		})
	}
}
