package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestControlCommand runs `luamilter control` against a running daemon
// whose script registers console commands with msys.registerControl.
func TestControlCommand(t *testing.T) {
	bin := binary(t)
	p := startProcCtl(t, 0, "5s", "{{dir}}/control.sock")
	ctl := filepath.Join(p.dir, "control.sock")
	script := `
msys.registerControl("greet", function(cc)
  print("hello", cc.argv[1])
  return cc.argc
end)
msys.registerControl("fail", function(cc) error("cannot do that") end)
`
	if err := os.WriteFile(filepath.Join(p.dir, "sleepy.lua"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"control", "--control-socket", ctl}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return stdout.String(), stderr.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), 0
	}
	if out, err := exec.Command(bin, "reload", "--control-socket", ctl).CombinedOutput(); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	cases := []struct {
		args       []string
		wantCode   int
		wantStdout string // exact
		stderrHas  string
	}{
		{[]string{"greet", "world wide"}, 0, "hello\tworld wide\n2\n", ""},
		{[]string{"--", "greet", "-x"}, 0, "hello\t-x\n2\n", ""},
		{[]string{"fail"}, 1, "", "cannot do that"},
		{[]string{"nosuch"}, 1, "", `unknown control command "nosuch": the scripts register fail, greet`},
		{nil, 2, "", "want a command NAME"},
	}
	for _, c := range cases {
		stdout, stderr, code := run(c.args...)
		if code != c.wantCode || stdout != c.wantStdout || !strings.Contains(stderr, c.stderrHas) {
			t.Errorf("control %q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q",
				c.args, code, stdout, stderr, c.wantCode, c.wantStdout, c.stderrHas)
		}
	}
}
