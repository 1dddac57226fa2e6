package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartupFailureReportsOnlyTheError checks that a daemon that could
// not start says why and does not first log that it stopped, as if it
// had run.
func TestStartupFailureReportsOnlyTheError(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "policy.lua")
	if err := os.WriteFile(script, []byte("msys.registerModule('m', {})\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name, listen, want string
	}{
		{"socket directory missing", "unix:" + filepath.Join(dir, "no/such/dir/milter.sock"), "no/such/dir/milter.sock"},
		{"port in use", "inet:" + busy.Addr().String(), "address already in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, out := runBinary(t, nil, "serve", "--script", script, "--listen", tc.listen,
				"--control-socket", "none", "--spool-dir", filepath.Join(dir, "spool"))
			if rc != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("rc %d, output:\n%s\nwant rc 1 naming %q", rc, out, tc.want)
			}
			if strings.Contains(out, "msg=stopped") {
				t.Errorf("a daemon that never started logs that it stopped:\n%s", out)
			}
		})
	}
}
