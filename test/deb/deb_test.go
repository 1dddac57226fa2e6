// Package deb builds the Debian package with scripts/build-deb.sh,
// installs it with dpkg and checks the installed binary, man page, user
// and systemd unit, then purges it. It changes the system, so it runs
// only with LUAMILTER_E2E=1, as root, and only where no luamilter
// package is installed already.
package deb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPackageInstalls(t *testing.T) {
	if os.Getenv("LUAMILTER_E2E") != "1" {
		t.Skip("set LUAMILTER_E2E=1 (installs and purges a .deb; run as root)")
	}
	if os.Getuid() != 0 {
		t.Skip("dpkg -i needs root")
	}
	if exec.Command("dpkg-query", "-W", "luamilter").Run() == nil {
		t.Skip("a luamilter package is installed on this machine; not touching it")
	}
	userExisted := exec.Command("getent", "passwd", "luamilter").Run() == nil
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	deb := strings.TrimSpace(run(t, "sh", filepath.Join(repo, "scripts/build-deb.sh"), out))
	deb = deb[strings.LastIndex(deb, "\n")+1:]
	t.Cleanup(func() {
		if b, err := exec.Command("dpkg", "--purge", "luamilter").CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, b)
		}
		if !userExisted {
			exec.Command("deluser", "--system", "luamilter").Run()
			exec.Command("delgroup", "--system", "luamilter").Run()
		}
	})
	run(t, "dpkg", "-i", deb)

	if v := run(t, "/usr/bin/luamilter", "version"); !strings.Contains(v, "go: go1.") || !strings.Contains(v, "commit: ") {
		t.Errorf("luamilter version:\n%s", v)
	}
	run(t, "getent", "passwd", "luamilter")
	for _, f := range []string{"/usr/share/man/man8/luamilter.8.gz", "/etc/luamilter/luamilter.toml", "/etc/luamilter/policy.lua",
		"/usr/share/bash-completion/completions/luamilter", "/lib/systemd/system/luamilter.service"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	// The installed config and policy load as serve would load them.
	if o := run(t, "/usr/bin/luamilter", "check", "--config", "/etc/luamilter/luamilter.toml"); !strings.Contains(o, "ok: ") {
		t.Errorf("check of the installed config:\n%s", o)
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze missing: run scripts/install-deps.sh (package systemd)")
	}
	// verify reads unit files only; it needs no running systemd, so it
	// works where systemd is not PID 1 too. Postfix's group must exist for
	// SupplementaryGroups, which is the MTA's business, not the unit's.
	cmd := exec.Command("systemd-analyze", "verify", "/lib/systemd/system/luamilter.service")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, b)
	}
}
