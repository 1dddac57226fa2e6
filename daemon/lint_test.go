package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const goodScript = "local m = {}\nfunction m:validate_rcptto(msg, str, ac, vctx)\n  return msys.core.VALIDATE_CONT\nend\nmsys.registerModule('gate', m)\n"

// typoScript defines validate_rcpt (line 3), a callout name luamilter
// does not know: it loads but would never run.
const typoScript = "local m = {}\n\nfunction m:validate_rcpt(msg, str, ac, vctx)\n  return msys.core.VALIDATE_CONT\nend\nmsys.registerModule('gate', m)\n"

// TestReloadReportsFindings checks that a reload runs the checks of
// `luamilter check`: a misspelled callout is logged as a warning with
// file:line and counted, and strict mode refuses the reload instead.
func TestReloadReportsFindings(t *testing.T) {
	tests := []struct {
		name   string
		strict bool
	}{
		{"warn", false},
		{"strict", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			config := baseConfig + "[[script]]\npath = \"policy.lua\"\n"
			if tc.strict {
				config = "strict = true\n" + config
			}
			e := startDaemon(t, config, map[string]string{"policy.lua": goodScript})
			metric := `luamilter_script_findings_total{kind="unknown_callout"}`
			if n := e.scrape(t)[metric]; n != 0 {
				t.Fatalf("%s = %v at start with a clean script", metric, n)
			}
			writeFile(t, filepath.Join(e.dir, "policy.lua"), typoScript)
			_, err := e.d.Reload(context.Background())
			if tc.strict != (err != nil) || (err != nil && !errors.Is(err, ErrFindings)) {
				t.Fatalf("reload: %v (strict %v)", err, tc.strict)
			}
			if n := e.scrape(t)[metric]; n != 1 {
				t.Errorf("%s = %v, want 1", metric, n)
			}
			want := []string{"level=WARN", `msg="script finding"`}
			if tc.strict {
				want = []string{"level=ERROR", "strict: refused"}
			}
			want = append(want, "file="+filepath.Join(e.dir, "policy.lua"), "line=3", "module=gate", `\"validate_rcpt\" is not a callout`)
			found := false
			for _, l := range strings.Split(e.logs.String(), "\n") {
				ok := true
				for _, w := range want {
					ok = ok && strings.Contains(l, w)
				}
				found = found || ok
			}
			if !found {
				t.Errorf("no log line with %q:\n%s", want, e.logs.String())
			}
			if wantGen := map[bool]uint64{false: 2, true: 1}[tc.strict]; e.d.Generation() != wantGen {
				t.Errorf("generation %d, want %d", e.d.Generation(), wantGen)
			}
		})
	}
}

// TestStartReportsFindings checks that New runs the same checks.
func TestStartReportsFindings(t *testing.T) {
	e := startDaemon(t, baseConfig+"[[script]]\npath = \"policy.lua\"\n", map[string]string{"policy.lua": typoScript})
	if !strings.Contains(e.logs.String(), "policy.lua line=3") || e.scrape(t)[`luamilter_script_findings_total{kind="unknown_callout"}`] != 1 {
		t.Errorf("finding at start not logged or counted:\n%s", e.logs.String())
	}
	cfg := e.d.Config()
	cfg.Strict = true
	cfg.Listen, cfg.ControlSocket, cfg.MetricsListen = []string{"unix:" + filepath.Join(e.dir, "other.sock")}, "none", ""
	if _, err := New(cfg, Options{}); !errors.Is(err, ErrFindings) || !strings.Contains(err.Error(), "policy.lua:3:") {
		t.Errorf("New in strict mode: %v, want the finding as file:line", err)
	}
}
