package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// validConfig is the defaults plus the one thing they lack, a script.
func validConfig() Config {
	cfg := Default()
	cfg.Scripts = []Script{{Path: "/etc/luamilter/policy.lua"}}
	return cfg
}

// TestValidate runs every rule of Validate: each case breaks one setting
// (or sets an edge value that is allowed) and expects the error to name
// the key and the value.
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Config)
		want string // "" means valid
	}{
		{"defaults with a script", func(c *Config) {}, ""},
		{"no script", func(c *Config) { c.Scripts = nil }, "no policy script"},
		{"empty script path", func(c *Config) { c.Scripts = append(c.Scripts, Script{}) }, "script #2: empty path"},

		{"script_timeout zero", func(c *Config) { c.ScriptTimeout = 0 }, `script_timeout = "0s"`},
		{"script_timeout negative", func(c *Config) { c.ScriptTimeout = -time.Second }, `script_timeout = "-1s"`},
		{"on_error unknown", func(c *Config) { c.OnError = "bounce" }, `on_error = "bounce": want tempfail, accept or reject`},
		{"on_error empty", func(c *Config) { c.OnError = "" }, `on_error = ""`},
		{"on_error reject", func(c *Config) { c.OnError = "reject" }, ""},
		{"relay_networks bad CIDR", func(c *Config) { c.RelayNetworks = []string{"10.0.0.0/8", "10.0.0.0/33"} }, `relay_networks = "10.0.0.0/33"`},
		{"relay_networks not an address", func(c *Config) { c.RelayNetworks = []string{"localhost"} }, `relay_networks = "localhost"`},
		{"relay_networks bare addresses", func(c *Config) { c.RelayNetworks = []string{"192.0.2.1", "::1", "2001:db8::/32"} }, ""},
		{"log_format", func(c *Config) { c.LogFormat = "xml" }, `log_format = "xml"`},
		{"log_level", func(c *Config) { c.LogLevel = "loud" }, `log_level = "loud"`},

		{"no listen", func(c *Config) { c.Listen = nil }, "listen: no milter socket"},
		{"listen bad spec", func(c *Config) { c.Listen = []string{"inet:127.0.0.1:8891", "tcp:8891"} }, `listen = "tcp:8891"`},
		{"listen no port", func(c *Config) { c.Listen = []string{"inet:127.0.0.1"} }, `listen = "inet:127.0.0.1"`},
		{"listen empty unix path", func(c *Config) { c.Listen = []string{"unix:"} }, `listen = "unix:"`},
		{"listen sendmail style", func(c *Config) { c.Listen = []string{"8891@127.0.0.1", "unix:/run/m.sock"} }, ""},
		{"socket_mode not octal", func(c *Config) { c.SocketMode = "0668" }, `socket_mode = "0668"`},
		{"socket_mode symbolic", func(c *Config) { c.SocketMode = "rw-rw----" }, `socket_mode = "rw-rw----"`},
		{"socket_mode too big", func(c *Config) { c.SocketMode = "4777" }, `socket_mode = "4777"`},
		{"socket_mode 0660", func(c *Config) { c.SocketMode = "0660" }, ""},
		{"metrics_listen no port", func(c *Config) { c.MetricsListen = "127.0.0.1" }, `metrics_listen = "127.0.0.1"`},
		{"metrics_listen ok", func(c *Config) { c.MetricsListen = "127.0.0.1:9891" }, ""},

		{"max_sessions zero", func(c *Config) { c.MaxSessions = 0 }, "max_sessions = 0: must be at least 1"},
		{"max_sessions negative", func(c *Config) { c.MaxSessions = -5 }, "max_sessions = -5"},
		{"max_sessions one", func(c *Config) { c.MaxSessions = 1 }, ""},
		{"spool_dir empty", func(c *Config) { c.SpoolDir = "" }, `spool_dir = ""`},
		{"spool_threshold zero", func(c *Config) { c.SpoolThreshold = 0 }, "spool_threshold = 0"},
		{"spool_threshold negative", func(c *Config) { c.SpoolThreshold = -1 }, "spool_threshold = -1"},
		{"max_message_size zero", func(c *Config) { c.MaxMessageSize = 0 }, "max_message_size = 0: must be greater than 0"},
		{"max_message_size negative", func(c *Config) { c.MaxMessageSize = -1 }, "max_message_size = -1"},
		{"max_message_size huge", func(c *Config) { c.MaxMessageSize = 1 << 60 }, ""},
		{"memory_limit negative", func(c *Config) { c.MemoryLimit = -1 }, "memory_limit = -1"},
		{"memory_limit off", func(c *Config) { c.MemoryLimit = 0 }, ""},
		{"negotiate", func(c *Config) { c.Negotiate = "some" }, `negotiate = "some"`},
		{"shutdown_timeout negative", func(c *Config) { c.ShutdownTimeout = -time.Second }, `shutdown_timeout = "-1s"`},
		{"shutdown_timeout zero", func(c *Config) { c.ShutdownTimeout = 0 }, ""},
		{"read_timeout zero", func(c *Config) { c.ReadTimeout = 0 }, `read_timeout = "0s"`},
		{"read_timeout negative", func(c *Config) { c.ReadTimeout = -time.Minute }, `read_timeout = "-1m0s"`},
		{"idle_timeout zero", func(c *Config) { c.IdleTimeout = 0 }, `idle_timeout = "0s"`},
		{"idle_timeout negative", func(c *Config) { c.IdleTimeout = -time.Minute }, `idle_timeout = "-1m0s"`},
		{"inject_relay empty", func(c *Config) { c.InjectRelay = "" }, `inject_relay = ""`},
		{"inject_relay without port", func(c *Config) { c.InjectRelay = "127.0.0.1" }, `inject_relay = "127.0.0.1"`},
		{"inject_relay without host", func(c *Config) { c.InjectRelay = ":25" }, `inject_relay = ":25"`},

		{"dns.servers bad", func(c *Config) { c.DNS.Servers = []string{"127.0.0.1", "ns1.example.net"} }, `dns.servers = "ns1.example.net"`},
		{"dns.servers with ports", func(c *Config) { c.DNS.Servers = []string{"127.0.0.1:5353", "[::1]:53", "::1"} }, ""},
		{"dns.timeout zero", func(c *Config) { c.DNS.Timeout = 0 }, `dns.timeout = "0s"`},
		{"dns.timeout negative", func(c *Config) { c.DNS.Timeout = -time.Second }, `dns.timeout = "-1s"`},
		{"store.backend", func(c *Config) { c.Store.Backend = "memcached" }, `store.backend = "memcached"`},
		{"store.backend redis without address", func(c *Config) { c.Store.Backend = "redis" }, "store.redis lists no HOST:PORT"},
		{"store.backend redis", func(c *Config) { c.Store.Backend, c.Store.Redis = "redis", []string{"10.0.0.5:6379"} }, ""},
		{"store.fail", func(c *Config) { c.Store.Fail = "shut" }, `store.fail = "shut"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.set(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestValidateReportsEveryProblem checks that Validate lists all bad
// values in one error rather than stopping at the first.
func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := validConfig()
	cfg.MaxSessions = 0
	cfg.ScriptTimeout = 0
	cfg.MaxMessageSize = -1
	cfg.OnError = "drop"
	cfg.Store.Fail = "maybe"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 5 {
		t.Errorf("want 5 joined errors, got %v", err)
	}
	for _, want := range []string{"max_sessions = 0", `script_timeout = "0s"`, "max_message_size = -1", `on_error = "drop"`, `store.fail = "maybe"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

// TestLoadFileRelativePaths checks that relative paths in a config file
// are taken from the file's directory, as examples/luamilter.toml says.
func TestLoadFileRelativePaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "luamilter.toml")
	src := "spool_dir = \"spool\"\nscript_dirs = [\"lib\"]\n[[script]]\npath = \"policy.lua\"\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	if err := LoadFile(file, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, got, want string }{
		{"spool_dir", cfg.SpoolDir, "spool"},
		{"script_dirs", cfg.ScriptDirs[0], "lib"},
		{"script", cfg.Scripts[0].Path, "policy.lua"},
	} {
		if want := filepath.Join(dir, c.want); c.got != want {
			t.Errorf("%s = %q, want %q", c.key, c.got, want)
		}
	}
	// Not set in the file: the default stays as it is.
	if err := os.WriteFile(file, []byte("max_sessions = 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg = Default()
	if err := LoadFile(file, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.SpoolDir != DefaultSpoolDir {
		t.Errorf("spool_dir %q, want the default", cfg.SpoolDir)
	}
}
