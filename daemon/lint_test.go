package daemon

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/luart"
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

// TestLint checks each kind of finding on one script loaded on its own:
// what the author relies on but luamilter would silently not do.
func TestLint(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []Finding // File is filled in; Msg is a substring
	}{
		{"clean", goodScript, nil},
		{"callout typo suggests the callout", typoScript, []Finding{{Line: 3, Kind: "unknown_callout",
			Msg: `"validate_rcpt" is not a callout luamilter knows (misspelled? it will never run); did you mean "validate_rcptto"?`}}},
		{"unknown name without a near one", "local m = {}\nfunction m:helper() end\nmsys.registerModule('gate', m)\n",
			[]Finding{{Line: 2, Kind: "unknown_callout", Msg: `"helper" is not a callout luamilter knows (misspelled? it will never run)`}}},
		{"documented hook is a note", "local m = {}\n\nfunction m:core_log_delivery_v1(msg) end\nmsys.registerModule('gate', m)\n",
			[]Finding{{Line: 3, Kind: "ignored_hook", Note: true,
				Msg: `"core_log_delivery_v1" is a Momentum hook that never runs under luamilter: Momentum calls it when it writes a log record`}}},
		{"hook missing from the old list", "local m = {}\nfunction m:core_config_get_message_routing_domain(msg) end\nmsys.registerModule('gate', m)\n",
			[]Finding{{Line: 2, Kind: "ignored_hook", Note: true, Msg: "delivers and queues after luamilter's end-of-message reply"}}},
		{"hook of SparkPost's samples", "local m = {}\nfunction m:core_pre_msg_each_rcpt(msg, ac) end\nmsys.registerModule('gate', m)\n",
			[]Finding{{Line: 2, Kind: "ignored_hook", Note: true, Msg: "a milter sees one message for all recipients"}}},
		{"msys.core typo", "local m = {}\nfunction m:validate_data(msg, ac, vctx)\n  return msys.core.VALIDATE_CONTINUE\nend\nmsys.registerModule('gate', m)\n",
			[]Finding{{Line: 3, Kind: "unknown_core_name", Msg: "msys.core.VALIDATE_CONTINUE is not in msys.core: it reads as nil; did you mean msys.core.VALIDATE_CONT?"}}},
		{"msys.core alias typo", "local core = msys.core\nlocal m = {}\nfunction m:validate_data(msg, ac, vctx)\n  vctx:get(core.VCTX_MES, 'k')\n  return core.VALIDATE_CONT\nend\nmsys.registerModule('gate', m)\n",
			[]Finding{{Line: 4, Kind: "unknown_core_name", Msg: "core.VCTX_MES is not in msys.core: it reads as nil; did you mean core.VCTX_MESS?"}}},
		{"require alias typo", "local c = require('msys.core')\nlocal x = c.VALIDATE_DOEN\nmsys.registerModule('gate', {})\n",
			[]Finding{{Line: 2, Kind: "unknown_core_name", Msg: "did you mean c.VALIDATE_DONE?"}}},
		{"comments, strings and functions are not reads", "-- msys.core.NOPE\n--[[ msys.core.NOPE ]]\nlocal s = 'msys.core.NOPE' .. [[msys.core.NOPE]]\nlocal x = msys.core.string_new()\nlocal foo = {msys = {core = {}}}\nlocal y = foo.msys.core.NOPE\nmsys.registerModule('gate', {})\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.lua")
			writeFile(t, path, tc.script)
			rt, err := luart.New(luart.Config{Scripts: []string{path}})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			got := Lint(rt)
			if len(got) != len(tc.want) {
				t.Fatalf("findings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.File != path || g.Line != w.Line || g.Kind != w.Kind || g.Note != w.Note || !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("finding %+v, want line %d kind %s note %v and %q", g, w.Line, w.Kind, w.Note, w.Msg)
				}
			}
		})
	}
}

// TestNotesDoNotCountOrRefuse checks that a hook a milter never calls is
// logged as a note at start, neither counted as a finding nor refused in
// strict mode, while a msys.core typo is a finding that strict refuses.
func TestNotesDoNotCountOrRefuse(t *testing.T) {
	hook := "local m = {}\nfunction m:validate_data(msg, ac, vctx)\n  return msys.core.VALIDATE_CONT\nend\nfunction m:core_log_delivery_v1(msg, dr, now, note, notelen) end\nmsys.registerModule('gate', m)\n"
	coreTypo := strings.Replace(hook, "VALIDATE_CONT", "VALIDATE_CONTINUE", 1)
	tests := []struct {
		name, script string
		refused      bool
		log          string
	}{
		{"hook note", hook, false, `msg="script note"`},
		{"core typo", coreTypo, true, "policy.lua:3: msys.core.VALIDATE_CONTINUE is not in msys.core"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startDaemon(t, baseConfig+"[[script]]\npath = \"policy.lua\"\n", map[string]string{"policy.lua": tc.script})
			if !strings.Contains(e.logs.String(), "core_log_delivery_v1") && !tc.refused {
				t.Errorf("hook not noted:\n%s", e.logs.String())
			}
			counted := 0.0
			for k, v := range e.scrape(t) {
				if strings.HasPrefix(k, "luamilter_script_findings_total") {
					counted += v
				}
			}
			if want := map[bool]float64{false: 0, true: 1}[tc.refused]; counted != want {
				t.Errorf("findings counted %v, want %v", counted, want)
			}
			cfg := e.d.Config()
			cfg.Strict = true
			cfg.Listen, cfg.ControlSocket, cfg.MetricsListen = []string{"unix:" + filepath.Join(e.dir, "other.sock")}, "none", ""
			d, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(e.logs, nil))})
			if tc.refused != (err != nil) {
				t.Fatalf("New in strict mode: %v, want refused %v", err, tc.refused)
			}
			if err != nil && !strings.Contains(err.Error(), tc.log) {
				t.Errorf("error %q, want %q", err, tc.log)
			}
			if d != nil {
				d.Shutdown(context.Background())
			}
			if !tc.refused && !strings.Contains(e.logs.String(), tc.log) {
				t.Errorf("no %q in log:\n%s", tc.log, e.logs.String())
			}
		})
	}
}
