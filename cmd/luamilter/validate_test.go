package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runBinary runs luamilter with args and extra environment and returns
// its exit code and combined output. A daemon that wrongly starts is
// killed after a generous while, so the test fails instead of hanging.
func runBinary(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		if ctx.Err() != nil {
			t.Fatalf("luamilter %v did not exit on its own; output:\n%s", args, out)
		}
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("luamilter %v: %v", args, err)
	return 0, ""
}

// TestServeRefusesImpossibleSettings checks that serve exits 2 before
// listening when a setting from the config file, a flag or the
// environment is impossible, naming every bad key and value at once.
func TestServeRefusesImpossibleSettings(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "policy.lua")
	if err := os.WriteFile(script, []byte("msys.registerModule('m', {})\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "milter.sock")
	base := []string{"serve", "--script", script, "--listen", "unix:" + sock, "--control-socket", "none", "--spool-dir", dir}
	tests := []struct {
		name string
		file string // config file content, if any
		env  []string
		args []string
		want []string
	}{
		{name: "config file", file: "max_sessions = 0\nscript_timeout = \"0s\"\nmax_message_size = 0\nspool_threshold = -1\n",
			want: []string{"max_sessions = 0", `script_timeout = "0s"`, "max_message_size = 0", "spool_threshold = -1"}},
		{name: "flags", args: []string{"--max-sessions", "-1", "--max-message-size", "0", "--on-error", "bounce", "--read-timeout", "0s"},
			want: []string{"max_sessions = -1", "max_message_size = 0", `on_error = "bounce"`, `read_timeout = "0s"`}},
		{name: "environment", env: []string{"LUAMILTER_DNS_TIMEOUT=-1s", "LUAMILTER_STORE_FAIL=maybe", "LUAMILTER_SOCKET_MODE=999"},
			want: []string{`dns.timeout = "-1s"`, `store.fail = "maybe"`, `socket_mode = "999"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, base...), tt.args...)
			if tt.file != "" {
				cfg := filepath.Join(t.TempDir(), "luamilter.toml")
				if err := os.WriteFile(cfg, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", cfg)
			}
			rc, out := runBinary(t, tt.env, args...)
			if rc != 2 {
				t.Errorf("exit code %d, want 2", rc)
			}
			if !strings.Contains(out, "invalid configuration") {
				t.Errorf("output does not say the configuration is invalid:\n%s", out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output does not mention %s:\n%s", want, out)
				}
			}
			if _, err := os.Stat(sock); err == nil {
				t.Errorf("serve created its milter socket before refusing the configuration")
			}
		})
	}
}

// TestCheckValidatesConfig checks that `luamilter check --config` applies
// serve's rules to the settings and reports each problem.
func TestCheckValidatesConfig(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "good.lua")
	if err := os.WriteFile(script, []byte("msys.registerModule('good', {})\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		file   string
		rc     int
		output []string
	}{
		{"valid", "max_sessions = 10\n", 0, []string{"ok: 1 script(s)"}},
		{"impossible values", "max_sessions = 0\nmax_message_size = -5\n[dns]\ntimeout = \"0s\"\n", 1,
			[]string{"luamilter.toml: max_sessions = 0", "luamilter.toml: max_message_size = -5", `luamilter.toml: dns.timeout = "0s"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "luamilter.toml")
			if err := os.WriteFile(cfg, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			rc, out := runBinary(t, nil, "check", "--config", cfg, script)
			if rc != tt.rc {
				t.Errorf("exit code %d, want %d", rc, tt.rc)
			}
			for _, want := range tt.output {
				if !strings.Contains(out, want) {
					t.Errorf("output does not mention %s:\n%s", want, out)
				}
			}
		})
	}
}
