package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
)

// loadWith runs loadConfig under serve's flags with args and env.
func loadWith(t *testing.T, env map[string]string, args ...string) (daemon.Config, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var cfg daemon.Config
	var lerr error
	app := &cli.App{Name: "luamilter", Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{},
		Commands: []*cli.Command{{Name: "serve", Flags: append(runtimeFlags(), serveFlags()...),
			Action: func(c *cli.Context) error { cfg, lerr = loadConfig(c); return nil }}}}
	if err := app.Run(append([]string{"luamilter", "serve"}, args...)); err != nil {
		t.Fatal(err)
	}
	return cfg, lerr
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "luamilter.toml")
	err := os.WriteFile(file, []byte(`
script_timeout = "3s"
listen = ["unix:/run/luamilter/milter.sock"]
[[script]]
path = "a.lua"
[[script]]
path = "b.lua"
dry_run = true
[store]
backend = "redis"
redis = ["10.0.0.1:6379"]
[datasources]
users = "sqlite:/var/db/users.db"
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(daemon.Config) string
	}{
		{name: "defaults", check: func(c daemon.Config) string {
			return strings.TrimSpace(fmt.Sprintln(c.ScriptTimeout, c.Listen, c.Store.Backend, c.OnError, len(c.Scripts)))
		}},
		{name: "env fills in", env: map[string]string{"LUAMILTER_SCRIPT_TIMEOUT": "7s", "LUAMILTER_SCRIPT": "x.lua,y.lua",
			"LUAMILTER_DRY_RUN": "true", "LUAMILTER_REDIS": "r1:6379, r2:6379"},
			check: func(c daemon.Config) string {
				return strings.TrimSpace(fmt.Sprintln(c.ScriptTimeout, c.ScriptPaths(), c.DryRun, c.Store.Redis))
			}},
		{name: "file beats env", env: map[string]string{"LUAMILTER_SCRIPT_TIMEOUT": "7s", "LUAMILTER_ON_ERROR": "accept", "LUAMILTER_SCRIPT": "x.lua", "LUAMILTER_REDIS": "r9:1"},
			args: []string{"--config", file},
			check: func(c daemon.Config) string {
				return strings.TrimSpace(fmt.Sprintln(c.ScriptTimeout, c.OnError, c.ScriptPaths(), c.Scripts[1].DryRun, c.Store, c.Datasources))
			}},
		{name: "config from env", env: map[string]string{"LUAMILTER_CONFIG": file},
			check: func(c daemon.Config) string { return fmt.Sprint(c.ScriptTimeout, c.Listen) }},
		{name: "flags beat file", args: []string{"--config", file, "--script-timeout", "9s", "-s", "z.lua", "--listen", "inet:127.0.0.1:1",
			"--datasource", "d=sqlite:/d.db", "--store", "memory"},
			check: func(c daemon.Config) string {
				return strings.TrimSpace(fmt.Sprintln(c.ScriptTimeout, c.ScriptPaths(), c.Listen, c.Datasources, c.Store.Backend))
			}},
	}
	want := map[string]string{
		"defaults":        "2s [inet:127.0.0.1:8891] memory tempfail 0",
		"env fills in":    "7s [x.lua y.lua] true [r1:6379 r2:6379]",
		"file beats env":  fmt.Sprintf("3s accept [%s %s] true {redis [10.0.0.1:6379] open} map[users:sqlite:/var/db/users.db]", filepath.Join(dir, "a.lua"), filepath.Join(dir, "b.lua")),
		"config from env": "3s [unix:/run/luamilter/milter.sock]",
		"flags beat file": "9s [z.lua] [inet:127.0.0.1:1] map[d:sqlite:/d.db] memory",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadWith(t, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(cfg); got != want[tt.name] {
				t.Errorf("got  %s\nwant %s", got, want[tt.name])
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string
		want string
	}{
		{name: "bad env duration", env: map[string]string{"LUAMILTER_SCRIPT_TIMEOUT": "soon"}, want: "LUAMILTER_SCRIPT_TIMEOUT"},
		{name: "bad env bool", env: map[string]string{"LUAMILTER_WATCH": "sometimes"}, want: "want true or false"},
		{name: "bad datasource", env: map[string]string{"LUAMILTER_DATASOURCE": "nouri"}, want: "want NAME=URI"},
		{name: "unknown key", file: "listen_on = 1\n", want: "unknown key(s) listen_on"},
		{name: "wrong type", file: "max_sessions = \"many\"\n", want: "luamilter.toml"},
		{name: "missing file", file: "-", want: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.file != "" {
				path := filepath.Join(t.TempDir(), "luamilter.toml")
				if tt.file != "-" {
					if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				args = []string{"--config", path}
			}
			_, err := loadWith(t, tt.env, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestExampleConfig keeps examples/luamilter.toml loadable and complete:
// every key of daemon.Config appears in it.
func TestExampleConfig(t *testing.T) {
	cfg := daemon.Default()
	if err := daemon.LoadFile("../../examples/luamilter.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../examples/luamilter.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, key := range tomlKeys(reflect.TypeOf(cfg), "") {
		if !strings.Contains(text, key) {
			t.Errorf("examples/luamilter.toml does not mention %q", key)
		}
	}
	if cfg.ScriptTimeout != 2*time.Second || len(cfg.Scripts) == 0 {
		t.Errorf("example: script_timeout %v, %d scripts", cfg.ScriptTimeout, len(cfg.Scripts))
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("example config is invalid: %v", err)
	}
}

// tomlKeys lists the keys of a config struct: "listen", "[dns]",
// "servers", "[[script]]", "dry_run", ...
func tomlKeys(t reflect.Type, _ string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := f.Tag.Get("toml")
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)):
			out = append(out, "["+key+"]")
			out = append(out, tomlKeys(f.Type, key)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, "[["+key+"]]")
			out = append(out, tomlKeys(f.Type.Elem(), key)...)
		case f.Type.Kind() == reflect.Map:
			out = append(out, "["+key+"]")
		default:
			out = append(out, key+" =")
		}
	}
	return out
}
