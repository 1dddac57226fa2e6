package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReloadCommand drives a running daemon with `luamilter reload`,
// `luamilter status` and SIGHUP.
func TestReloadCommand(t *testing.T) {
	bin := binary(t)
	p := startProcCtl(t, 0, "5s", "{{dir}}/control.sock")
	ctl := filepath.Join(p.dir, "control.sock")
	runAt := func(sock, cmd string) (string, int) {
		out, err := exec.Command(bin, cmd, "--control-socket", sock).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	run := func(cmd string) (string, int) { return runAt(ctl, cmd) }
	steps := []struct {
		name     string
		do       func() (string, int)
		wantCode int
		want     string
	}{
		{"status", func() (string, int) { return run("status") }, 0, "generation 1, modules sleepy, 0 session(s) open"},
		{"reload", func() (string, int) { return run("reload") }, 0, "generation 2, modules sleepy"},
		{"SIGHUP", func() (string, int) {
			p.cmd.Process.Signal(syscall.SIGHUP)
			waitFor(t, "SIGHUP reload", func() bool { return strings.Contains(p.stderr.String(), "generation=3") })
			return run("status")
		}, 0, "generation 3"},
		{"broken script", func() (string, int) {
			if err := os.WriteFile(filepath.Join(p.dir, "sleepy.lua"), []byte("local mod = {}\nfunction mod:x(\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return run("reload")
		}, 1, "reload failed, generation 3 stays in use"},
		{"still serving the old scripts", func() (string, int) { return run("status") }, 0, "generation 3, modules sleepy"},
		{"no daemon", func() (string, int) { return runAt(filepath.Join(p.dir, "nope.sock"), "reload") }, 1, "is luamilter serve running"},
	}
	for _, s := range steps {
		out, code := s.do()
		if code != s.wantCode || !strings.Contains(out, s.want) {
			t.Errorf("%s: exit %d, output %q; want exit %d and %q", s.name, code, out, s.wantCode, s.want)
		}
	}
	if !strings.Contains(p.stderr.String(), "sleepy.lua") {
		t.Errorf("failed reload not logged with the file")
	}
}
