package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportMomentumCommand imports the sample ecelerity.conf with the
// built binary and checks the result with `luamilter check`.
func TestImportMomentumCommand(t *testing.T) {
	bin := binary(t)
	base, _ := filepath.Abs("../../daemon/testdata/momentum")
	out := filepath.Join(t.TempDir(), "scripts.toml")
	cmd := exec.Command(bin, "import-momentum", "-o", out,
		"--search-path", filepath.Join(base, "conf/default"),
		"--search-path", filepath.Join(base, "conf/global"),
		"--search-path", filepath.Join(base, "scriptlets"),
		filepath.Join(base, "ecelerity.conf"))
	stderr, err := cmd.CombinedOutput()
	// A source that is missing makes the import fail, naming it.
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("import-momentum with a missing source: %v, want exit 1\n%s", err, stderr)
	}
	for _, want := range []string{
		"4 script(s) imported, 9 item(s) not mapped",
		"1 script source(s) missing",
		`script "extended": source "msys.extended.message"`,
		`not mapped: ` + filepath.Join(base, "ecelerity.conf") + `:31: script "boot": msys.boot skipped`,
		`source "msys.extended.message" not found`,
	} {
		if !strings.Contains(string(stderr), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	toml, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(toml), "[[script]]"); n != 4 {
		t.Errorf("%d [[script]] entries, want 4:\n%s", n, toml)
	}
	// check loads the imported scripts and points at the missing one.
	res, err := exec.Command(bin, "check", "--config", out).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "msys/extended/message.lua") {
		t.Errorf("check of the import: err %v, output:\n%s", err, res)
	}
	// Without the missing one, the imported list loads cleanly.
	trimmed := string(toml)[:strings.LastIndex(string(toml), "[[script]]")]
	if err := os.WriteFile(out, []byte(trimmed), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = exec.Command(bin, "check", "--config", out).CombinedOutput()
	if err != nil || !strings.Contains(string(res), "ok: 3 script(s), modules [ehlo_phase rcpt_check content_checks]") {
		t.Errorf("check of the trimmed import: err %v, output:\n%s", err, res)
	}
}
