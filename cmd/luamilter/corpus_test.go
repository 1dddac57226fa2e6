package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pythonEmailCorpus is CPython's email test corpus: real-world and
// deliberately malformed messages (Debian: libpython3.11-testsuite).
const pythonEmailCorpus = "/usr/lib/python3.11/test/test_email/data"

// TestTestTakesThePythonEmailCorpus plays every message of CPython's
// email test corpus through `luamilter test` with a policy that reads
// the whole body: none may be refused by the offline path, as an MTA
// takes them all.
func TestTestTakesThePythonEmailCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pythonEmailCorpus, "msg_*.txt"))
	if len(files) == 0 {
		if os.Getenv("LUAMILTER_NO_PYCORPUS") != "" {
			t.Skip("LUAMILTER_NO_PYCORPUS set")
		}
		t.Fatalf("no corpus in %s: run scripts/install-deps.sh (libpython3.11-testsuite), or set LUAMILTER_NO_PYCORPUS=1 to skip", pythonEmailCorpus)
	}
	dir := testDir(t, map[string]string{})
	args := append([]string{"test", "--log-level", "error", "--expect", "accept", "--script", filepath.Join(dir, "policy.lua")}, files...)
	rc, out := runBinary(t, nil, args...)
	if rc != 0 || !strings.Contains(out, " 0 failed, 0 error(s)") {
		t.Fatalf("rc %d:\n%s", rc, out)
	}
}
