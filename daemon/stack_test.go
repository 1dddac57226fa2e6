package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/luart"
)

// stackConfig is a valid Config with one script that uses only
// validate_data, in a temp dir.
func stackConfig(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "policy.lua")
	src := "local m = {}\nfunction m:validate_data(msg, ac, vctx) return msys.core.VALIDATE_CONT end\nmsys.registerModule(\"m\", m)\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Scripts = []Script{{Path: script}}
	cfg.SpoolDir = dir
	cfg.MemoryLimit = 0
	return cfg
}

// TestStackServerConfig checks that the milter server settings come from
// the Config, and negotiate decides what a connection asks for.
func TestStackServerConfig(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantAll bool
	}{
		{"defaults", func(*Config) {}, false},
		{"limits", func(c *Config) {
			c.MaxSessions, c.SpoolThreshold, c.MaxMessageSize = 7, 100, 1000
			c.ReadTimeout, c.IdleTimeout = 3*time.Second, 4*time.Second
		}, false},
		{"negotiate all", func(c *Config) { c.Negotiate = "all" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := stackConfig(t)
			tt.edit(&cfg)
			st, err := NewStack(cfg, StackOptions{NoModules: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			eng, err := st.Engine(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close(context.Background())
			sc := st.ServerConfig(eng, eng)
			if sc.MaxSessions != cfg.MaxSessions || sc.SpoolDir != cfg.SpoolDir || sc.SpoolThreshold != cfg.SpoolThreshold ||
				sc.MaxMessageSize != cfg.MaxMessageSize || sc.ReadTimeout != cfg.ReadTimeout || sc.IdleTimeout != cfg.IdleTimeout {
				t.Errorf("server config %+v does not carry the settings of %+v", sc, cfg)
			}
			if sc.Log != st.Log() || sc.Macros == nil {
				t.Error("server config lacks the stack's logger or the macros")
			}
			if got := sc.Needs().All; got != tt.wantAll {
				t.Errorf("Needs().All = %v, want %v", got, tt.wantAll)
			}
		})
	}
}

// TestNewStackRefuses checks that a stack is only built from a Config
// serve would accept, and that Check can refuse the scripts.
func TestNewStackRefuses(t *testing.T) {
	cfg := stackConfig(t)
	cfg.MaxSessions = 0
	if _, err := NewStack(cfg, StackOptions{NoModules: true}); err == nil || !strings.Contains(err.Error(), "max_sessions") {
		t.Errorf("NewStack with max_sessions = 0: %v, want the setting named", err)
	}
	errRefused := errors.New("refused")
	st, err := NewStack(stackConfig(t), StackOptions{NoModules: true, Check: func(*luart.Runtime, Config) error { return errRefused }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Engine(context.Background()); !errors.Is(err, errRefused) {
		t.Errorf("Engine with a refusing Check: %v, want %v", err, errRefused)
	}
}

// TestStackLuaThreads checks that lua_threads bounds each generation's
// threads, 0 meaning luart's default, and that the generations share
// one count of waits.
func TestStackLuaThreads(t *testing.T) {
	cfg := stackConfig(t)
	st, err := NewStack(cfg, StackOptions{NoModules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, n := range []int{0, 3} {
		c := cfg
		c.LuaThreads = n
		rt, err := st.Runtime(c)
		if err != nil {
			t.Fatal(err)
		}
		want := n
		if n == 0 {
			want = luart.DefaultMaxThreads()
		}
		if got := rt.PoolStats().Max; got != want {
			t.Errorf("lua_threads = %d: bound %d, want %d", n, got, want)
		}
		if got := st.RuntimeConfig(c).Waits; got != st.ThreadWaits() {
			t.Errorf("lua_threads = %d: the runtime counts waits apart from the stack", n)
		}
		rt.Close()
	}
}
