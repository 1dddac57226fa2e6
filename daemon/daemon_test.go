package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/milter"
)

// TestReloadFailures checks that each kind of broken reload is refused
// with a useful message and leaves the running scripts in place.
func TestReloadFailures(t *testing.T) {
	good := genScript("{{dir}}/events.log", 1, "true")
	tests := []struct {
		name    string
		config  string            // replaces the config file when set
		files   map[string]string // written before the reload
		wantErr []string
	}{
		{name: "syntax error", files: map[string]string{"policy.lua": "local a = 1\nlocal b = = 2\n"},
			wantErr: []string{"policy.lua", ":2"}},
		{name: "runtime error while loading", files: map[string]string{"policy.lua": "local a = 1\nerror('boom')\n"},
			wantErr: []string{"policy.lua", "boom"}},
		{name: "init not true", files: map[string]string{"policy.lua": genScript("{{dir}}/events.log", 2, "nil")},
			wantErr: []string{"module guard", "init returned nil, want true"}},
		{name: "init raises", files: map[string]string{"policy.lua": genScript("{{dir}}/events.log", 2, "error('no db')")},
			wantErr: []string{"module guard", "no db"}},
		{name: "missing script", config: policyConfig + "[[script]]\npath = \"gone.lua\"\n",
			wantErr: []string{"gone.lua", "no such file"}},
		{name: "unknown config key", config: policyConfig + "scripts_dir = [\"x\"]\n",
			wantErr: []string{"luamilter.toml", "unknown key", "scripts_dir"}},
		{name: "config syntax", config: policyConfig + "listen = [\n",
			wantErr: []string{"luamilter.toml"}},
		{name: "no scripts", config: baseConfig,
			wantErr: []string{"no policy script"}},
		// Values that only take effect at a restart are refused too, so
		// that the restart doesn't fail on them later.
		{name: "impossible values", config: "max_sessions = 0\nscript_timeout = \"0s\"\nmax_message_size = -1\nread_timeout = \"-1s\"\n" + policyConfig,
			wantErr: []string{"max_sessions = 0", `script_timeout = "0s"`, "max_message_size = -1", `read_timeout = "-1s"`}},
		{name: "bad enum", config: "on_error = \"drop\"\n" + policyConfig + "[store]\nfail = \"maybe\"\n",
			wantErr: []string{`on_error = "drop"`, `store.fail = "maybe"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startDaemon(t, policyConfig, map[string]string{"policy.lua": good})
			gen, cfg := e.d.Generation(), e.d.Config()
			for name, content := range tt.files {
				writeFile(t, filepath.Join(e.dir, name), strings.ReplaceAll(content, "{{dir}}", e.dir))
			}
			if tt.config != "" {
				e.writeConfig(tt.config)
			}
			_, err := Control(context.Background(), filepath.Join(e.dir, "control.sock"), "reload")
			if err == nil {
				t.Fatal("reload succeeded")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if got := e.d.Generation(); got != gen {
				t.Fatalf("generation %d after a failed reload, want %d", got, gen)
			}
			if got := e.d.Config(); !reflect.DeepEqual(got, cfg) {
				t.Fatalf("config changed by a failed reload:\n got %+v\nwant %+v", got, cfg)
			}
			if tr := e.play(t, "a@example.org"); genOf(tr) != 1 {
				t.Fatalf("after a failed reload the old scripts should run; got modifications %v", tr.Modifications)
			}
			m := e.scrape(t)
			if m[`luamilter_reloads_total{result="failure"}`] != 1 || m[`luamilter_reloads_total{result="success"}`] != 0 {
				t.Errorf("reload counters: %v failure, %v success", m[`luamilter_reloads_total{result="failure"}`], m[`luamilter_reloads_total{result="success"}`])
			}
		})
	}
}

// TestDryRun runs a rejecting, header-adding script in shadow mode, per
// script and globally: the MTA must be told to continue, unchanged, and
// the would-be actions counted.
func TestDryRun(t *testing.T) {
	const shadow = `
local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  vctx:set_code(550, "5.7.1 go away")
  return msys.core.VALIDATE_DONE
end
function mod:validate_data(msg, ac, vctx)
  msg:header("X-Shadow", "yes", "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("shadow", mod)
`
	const tagger = `
local mod = {}
function mod:validate_data(msg, ac, vctx)
  msg:header("X-Tag", "live", "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("tagger", mod)
`
	tests := []struct {
		name     string
		config   string
		wantMods string
	}{
		{name: "per script", wantMods: "[insert_header 65536 X-Tag: live]", config: baseConfig + `
[[script]]
path = "shadow.lua"
dry_run = true
[[script]]
path = "tagger.lua"
`},
		{name: "global", wantMods: "[]", config: baseConfig + `
dry_run = true
[[script]]
path = "shadow.lua"
[[script]]
path = "tagger.lua"
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startDaemon(t, tt.config, map[string]string{"shadow.lua": shadow, "tagger.lua": tagger})
			tr := e.play(t, "a@example.org")
			if tr.Final.Action != "accept" {
				t.Fatalf("final %s %s, want accept", tr.Final.Action, tr.Final.Reply)
			}
			if got := strings.Join(tr.Modifications, ","); "["+got+"]" != tt.wantMods {
				t.Errorf("modifications %v, want %s", tr.Modifications, tt.wantMods)
			}
			m := e.scrape(t)
			for _, k := range []string{
				`luamilter_dry_run_actions_total{action="reject",callout="validate_mailfrom",module="shadow"}`,
				`luamilter_dry_run_actions_total{action="modify",callout="validate_data",module="shadow"}`,
			} {
				if m[k] != 1 {
					t.Errorf("%s = %v, want 1", k, m[k])
				}
			}
			if !strings.Contains(e.logs.String(), "dry run: not applied") {
				t.Errorf("dry-run actions not logged")
			}
		})
	}
}

// TestControlAndHealth checks the control socket's mode and commands and
// the health endpoint.
func TestControlAndHealth(t *testing.T) {
	e := startDaemon(t, policyConfig, map[string]string{"policy.lua": genScript("{{dir}}/events.log", 1, "true")})
	ctl := filepath.Join(e.dir, "control.sock")
	fi, err := os.Stat(ctl)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("control socket mode %o, want 600", mode)
	}
	out, err := Control(context.Background(), ctl, "status")
	if err != nil || !strings.Contains(out, "generation 1, modules gen, guard") {
		t.Errorf("status = %q, %v", out, err)
	}
	if _, err := Control(context.Background(), ctl, "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
	get := func() (int, string) {
		resp, err := http.Get("http://" + e.d.MetricsAddr().String() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 || !strings.HasPrefix(body, "ok generation 1") {
		t.Errorf("healthz = %d %q", code, body)
	}
	e.d.stopping.Store(true) // as during shutdown, while sessions drain
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Errorf("healthz while stopping = %d, want 503", code)
	}
	e.d.stopping.Store(false)
}

// TestWatch edits the script in place and expects a reload.
func TestWatch(t *testing.T) {
	e := startDaemon(t, baseConfig+"watch = true\n[[script]]\npath = \"policy.lua\"\n", map[string]string{"policy.lua": genScript("{{dir}}/events.log", 1, "true")})
	writeFile(t, filepath.Join(e.dir, "policy.lua"), genScript(e.events, 2, "true"))
	eventually(t, "reload after the script changed", func() bool { return e.d.Generation() == 2 })
	if tr := e.play(t, "a@example.org"); genOf(tr) != 2 {
		t.Fatalf("new sessions run version %d, want 2", genOf(tr))
	}
	// A broken save is refused; the daemon keeps version 2.
	writeFile(t, filepath.Join(e.dir, "policy.lua"), "function (\n")
	eventually(t, "failed reload", func() bool { return e.scrape(t)[`luamilter_reloads_total{result="failure"}`] == 1 })
	if e.d.Generation() != 2 {
		t.Fatalf("generation %d after a broken save, want 2", e.d.Generation())
	}
}

// TestLogFields checks that session log lines and script print lines
// carry the session id, client address, queue id and module.
func TestLogFields(t *testing.T) {
	const printer = `
local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  print("hello from the script")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("printer", mod)
`
	e := startDaemon(t, baseConfig+"[[script]]\npath = \"printer.lua\"\n", map[string]string{"printer.lua": printer})
	e.play(t, "a@example.org")
	var printLine, summary string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		switch {
		case strings.Contains(l, "hello from the script"):
			printLine = l
		case strings.Contains(l, "msg=message "):
			summary = l
		}
	}
	for _, want := range []string{"session=1", "client=192.0.2.7", "queue_id=Q1", "module=printer", "source=print"} {
		if !strings.Contains(printLine, want) {
			t.Errorf("print line %q lacks %s", printLine, want)
		}
	}
	for _, want := range []string{"session=1", "client=192.0.2.7", "queue_id=Q1", "action=accept", "reply=",
		`rcpts="rcpt@example.com accept"`, "changes=", "script_seconds=", "generation=1"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary line %q lacks %s", summary, want)
		}
	}
	if strings.Count(printLine, "queue_id=") != 1 {
		t.Errorf("queue_id repeated: %q", printLine)
	}
}

// TestVerdictMetrics sends mail that the example policy rejects at
// different stages and checks the per-stage counters.
func TestVerdictMetrics(t *testing.T) {
	src, err := os.ReadFile("../examples/policy.lua")
	if err != nil {
		t.Fatal(err)
	}
	e := startDaemon(t, baseConfig+"[[script]]\npath = \"policy.lua\"\n", map[string]string{"policy.lua": string(src)})
	sends := []struct {
		from, rcpt, subject, want string
	}{
		{"a@example.org", "rcpt@example.com", "hi", "accept"},
		{"a@example.org", "rcpt@example.com", "hello", "accept"},
		{"x@bad.example", "rcpt@example.com", "hi", "reject"},
		{"a@example.org", "nobody@example.com", "hi", "reject"},
		{"a@example.org", "rcpt@example.com", "cheap viagra", "reject"},
	}
	for _, s := range sends {
		tr := tx(s.from)
		tr.Rcpts = []string{s.rcpt}
		tr.Message = []byte("Subject: " + s.subject + "\r\n\r\nbody\r\n")
		res, err := milter.Play("unix", e.sock, tr)
		if err != nil {
			t.Fatal(err)
		}
		if res.Final.Action != s.want {
			t.Errorf("%+v: final %s, want %s", s, res.Final.Action, s.want)
		}
	}
	m := e.scrape(t)
	for k, want := range map[string]float64{
		`luamilter_verdicts_total{action="reject",stage="mail"}`: 1,
		`luamilter_verdicts_total{action="reject",stage="rcpt"}`: 1,
		`luamilter_verdicts_total{action="reject",stage="eom"}`:  1,
		`luamilter_verdicts_total{action="accept",stage="eom"}`:  2,
		`luamilter_messages_total{action="accept"}`:              2,
		`luamilter_messages_total{action="reject"}`:              1,
		`luamilter_sessions_total`:                               5,
		`luamilter_store_evictions_total`:                        0,
		`luamilter_store_errors_total`:                           0,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if _, ok := m[`luamilter_store_entries`]; !ok {
		t.Error("luamilter_store_entries is not exported")
	}
}

// TestReloadSettings checks which settings a reload applies and that the
// others are reported as needing a restart.
func TestReloadSettings(t *testing.T) {
	const failing = `
local mod = {}
function mod:validate_mailfrom(str, ac, vctx) error("broken") end
msys.registerModule("failing", mod)
`
	files := map[string]string{"policy.lua": failing}
	e := startDaemon(t, "log_level = \"debug\"\n"+policyConfig, files)
	if tr := e.play(t, "a@example.org"); tr.Final.Action != "tempfail" {
		t.Fatalf("on_error tempfail: final %s", tr.Final.Action)
	}
	e.writeConfig("log_level = \"error\"\non_error = \"reject\"\nscript_timeout = \"5s\"\nmax_sessions = 7\n" + policyConfig)
	res, err := e.d.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := e.d.opts.Level.Level(); got != slog.LevelError {
		t.Errorf("log level after reload %v, want ERROR", got)
	}
	if cfg := e.d.Config(); cfg.ScriptTimeout != 5*time.Second || cfg.OnError != "reject" || cfg.MaxSessions != 1000 {
		t.Errorf("after reload: script_timeout %v (want 5s), on_error %q (want reject), max_sessions %d (want the old 1000)",
			cfg.ScriptTimeout, cfg.OnError, cfg.MaxSessions)
	}
	if tr := e.play(t, "a@example.org"); tr.Final.Action != "reject" || tr.Final.Code != 554 {
		t.Errorf("on_error reject after reload: final %s %d %s", tr.Final.Action, tr.Final.Code, tr.Final.Reply)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "max_sessions changed") {
		t.Errorf("warnings %q, want one about max_sessions", res.Warnings)
	}
}

// TestReloadReportsRestartOnlySettings changes, one at a time, settings
// a reload can't apply and checks that the reload succeeds, keeps the
// running value, names the setting in its result and logs it by name.
func TestReloadReportsRestartOnlySettings(t *testing.T) {
	tests := []struct {
		key, line string
		same      func(old, now Config) bool
	}{
		{"max_message_size", `max_message_size = 1000`, func(o, n Config) bool { return o.MaxMessageSize == n.MaxMessageSize }},
		{"spool_threshold", `spool_threshold = 1000`, func(o, n Config) bool { return o.SpoolThreshold == n.SpoolThreshold }},
		{"read_timeout", `read_timeout = "5s"`, func(o, n Config) bool { return o.ReadTimeout == n.ReadTimeout }},
		{"idle_timeout", `idle_timeout = "5s"`, func(o, n Config) bool { return o.IdleTimeout == n.IdleTimeout }},
		{"socket_mode", `socket_mode = "0600"`, func(o, n Config) bool { return o.SocketMode == n.SocketMode }},
		{"socket_owner", `socket_owner = "nobody"`, func(o, n Config) bool { return o.SocketOwner == n.SocketOwner }},
		{"watch", `watch = true`, func(o, n Config) bool { return o.Watch == n.Watch }},
		{"dns.timeout", "[dns]\ntimeout = \"1s\"", func(o, n Config) bool { return o.DNS.Timeout == n.DNS.Timeout }},
		{"store.fail", "[store]\nfail = \"closed\"", func(o, n Config) bool { return o.Store.Fail == n.Store.Fail }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			e := startDaemon(t, policyConfig, map[string]string{"policy.lua": genScript("{{dir}}/events.log", 1, "true")})
			old := e.d.Config()
			cfg := tt.line + "\n" + policyConfig
			if strings.HasPrefix(tt.line, "[") {
				cfg = policyConfig + tt.line + "\n"
			}
			e.writeConfig(cfg)
			res, err := e.d.Reload(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Restart) != 1 || res.Restart[0] != tt.key {
				t.Errorf("restart %q, want [%s]", res.Restart, tt.key)
			}
			if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], tt.key+" changed") {
				t.Errorf("warnings %q, want one about %s", res.Warnings, tt.key)
			}
			if !tt.same(old, e.d.Config()) {
				t.Errorf("%s changed at reload", tt.key)
			}
			want := "level=WARN msg=\"reload: setting changed; it takes effect at the next restart\" setting=" + tt.key + "\n"
			if n := strings.Count(e.logs.String(), want); n != 1 {
				t.Errorf("log has %d lines %q, want 1", n, want)
			}
		})
	}
}

// TestReloadAppliesSettings changes, one at a time, settings a reload
// applies and checks that the new value is in effect and nothing is
// reported as waiting for a restart.
func TestReloadAppliesSettings(t *testing.T) {
	tests := []struct {
		key, line string
		applied   func(c Config) bool
	}{
		{"negotiate", `negotiate = "all"`, func(c Config) bool { return c.Negotiate == "all" }},
		{"shutdown_timeout", `shutdown_timeout = "5s"`, func(c Config) bool { return c.ShutdownTimeout == 5*time.Second }},
		{"script_env", `script_env = ["HOME"]`, func(c Config) bool { return len(c.ScriptEnv) == 1 && c.ScriptEnv[0] == "HOME" }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			e := startDaemon(t, policyConfig, map[string]string{"policy.lua": genScript("{{dir}}/events.log", 1, "true")})
			e.writeConfig(tt.line + "\n" + policyConfig)
			res, err := e.d.Reload(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Restart) != 0 {
				t.Errorf("restart %q, want none", res.Restart)
			}
			if !tt.applied(e.d.Config()) {
				t.Errorf("%s not applied at reload", tt.key)
			}
		})
	}
}

// TestReloadNegotiatesNewSetting checks that connections after a reload
// negotiate under the new negotiate setting.
func TestReloadNegotiatesNewSetting(t *testing.T) {
	e := startDaemon(t, policyConfig, map[string]string{"policy.lua": genScript("{{dir}}/events.log", 1, "true")})
	if e.d.needs().All {
		t.Fatal("negotiate = need asks for every event")
	}
	e.writeConfig("negotiate = \"all\"\n" + policyConfig)
	if _, err := e.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !e.d.needs().All {
		t.Error("after a reload to negotiate = all, new connections do not ask for every event")
	}
}

// TestEverySettingSaysHowItReloads fails for a setting, nested ones
// included, whose reload tag is missing or unknown: a reload must either
// apply a changed setting or say that it waits for a restart.
func TestEverySettingSaysHowItReloads(t *testing.T) {
	var walk func(t reflect.Type, prefix string) []string
	walk = func(typ reflect.Type, prefix string) []string {
		var bad []string
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := prefix + f.Tag.Get("toml")
			if f.Type.Kind() == reflect.Struct {
				if f.Tag.Get("reload") != "" {
					bad = append(bad, key+" (a table: tag its keys instead)")
				}
				bad = append(bad, walk(f.Type, key+".")...)
				continue
			}
			switch f.Tag.Get("reload") {
			case reloadApply, reloadRestart:
			default:
				bad = append(bad, fmt.Sprintf("%s (reload:%q)", key, f.Tag.Get("reload")))
			}
		}
		return bad
	}
	for _, s := range walk(reflect.TypeOf(Config{}), "") {
		t.Errorf("setting %s: want reload:\"apply\" or reload:\"restart\"", s)
	}
}

// TestPprofOnlyWhenAsked checks that Go's profiles are served on the
// metrics listener with pprof = true and not otherwise.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		config string
		want   int
	}{
		{policyConfig, http.StatusNotFound},
		{"pprof = true\n" + policyConfig, http.StatusOK},
	} {
		e := startDaemon(t, tc.config, map[string]string{"policy.lua": genScript("{{dir}}/events.log", 1, "true")})
		resp, err := http.Get("http://" + e.d.MetricsAddr().String() + "/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%q: GET /debug/pprof/heap: %d, want %d", tc.config[:12], resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusOK && !strings.Contains(string(body), "heap profile") {
			t.Errorf("no heap profile in %.80q", body)
		}
	}
}

// TestWatchFollowsRequiredHelpers checks that --watch reloads when a
// helper file loaded with require changes, not only the scripts.
func TestWatchFollowsRequiredHelpers(t *testing.T) {
	const script = `local h = require("genhelper")
local mod = {}
function mod:validate_data(msg, ac, vctx)
  msg:header("X-Gen", tostring(h.gen), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("gen", mod)`
	e := startDaemon(t, baseConfig+"watch = true\n[[script]]\npath = \"policy.lua\"\n",
		map[string]string{"policy.lua": script, "genhelper.lua": "return {gen = 1}"})
	if tr := e.play(t, "a@example.org"); genOf(tr) != 1 {
		t.Fatalf("first sessions run helper version %d, want 1", genOf(tr))
	}
	writeFile(t, filepath.Join(e.dir, "genhelper.lua"), "return {gen = 2}")
	eventually(t, "reload after the helper changed", func() bool { return e.d.Generation() == 2 })
	if tr := e.play(t, "a@example.org"); genOf(tr) != 2 {
		t.Fatalf("new sessions run helper version %d, want 2", genOf(tr))
	}
}
