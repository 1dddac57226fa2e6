// Package daemon runs luamilter as a service: it builds the libraries,
// the policy engine and the milter server from a Config, serves the
// milter sockets, reloads scripts on request (control socket, SIGHUP,
// file changes), exports Prometheus metrics and stops gracefully.
package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/luamilter/luamilter/milter"
)

// Config is everything luamilter serve can be told, as read from the TOML
// config file. Keys are the toml tags; the flag tag names the
// command-line flag that overrides the key (env LUAMILTER_<FLAG>, upper
// case with "-" as "_", fills in what neither sets).
type Config struct {
	// Scripts run in this order; [[script]] entries in the file.
	Scripts []Script `toml:"script"`
	// ScriptDirs are searched by require.
	ScriptDirs    []string      `toml:"script_dirs" flag:"script-dir"`
	ScriptTimeout time.Duration `toml:"script_timeout" flag:"script-timeout"`
	OnError       string        `toml:"on_error" flag:"on-error"`
	DryRun        bool          `toml:"dry_run" flag:"dry-run"`
	UnsafeLua     bool          `toml:"unsafe_lua" flag:"unsafe-lua"`
	RelayNetworks []string      `toml:"relay_networks" flag:"relay-network"`
	LogFormat     string        `toml:"log_format" flag:"log-format"`
	LogLevel      string        `toml:"log_level" flag:"log-level"`

	Listen          []string      `toml:"listen" flag:"listen"`
	SocketMode      string        `toml:"socket_mode" flag:"socket-mode"`
	SocketOwner     string        `toml:"socket_owner" flag:"socket-owner"`
	ControlSocket   string        `toml:"control_socket" flag:"control-socket"`
	MetricsListen   string        `toml:"metrics_listen" flag:"metrics-listen"`
	Pprof           bool          `toml:"pprof" flag:"pprof"`
	Watch           bool          `toml:"watch" flag:"watch"`
	MaxSessions     int           `toml:"max_sessions" flag:"max-sessions"`
	SpoolDir        string        `toml:"spool_dir" flag:"spool-dir"`
	SpoolThreshold  int64         `toml:"spool_threshold" flag:"spool-threshold"`
	MaxMessageSize  int64         `toml:"max_message_size" flag:"max-message-size"`
	MemoryLimit     int64         `toml:"memory_limit" flag:"memory-limit"`
	Negotiate       string        `toml:"negotiate" flag:"negotiate"`
	ShutdownTimeout time.Duration `toml:"shutdown_timeout" flag:"shutdown-timeout"`
	// ReadTimeout bounds one milter packet once its first byte came;
	// IdleTimeout bounds the wait for the MTA's next command.
	ReadTimeout time.Duration `toml:"read_timeout" flag:"read-timeout"`
	IdleTimeout time.Duration `toml:"idle_timeout" flag:"idle-timeout"`

	ReadfileDirs []string `toml:"readfile_dirs" flag:"readfile-dir"`
	DNS          DNS      `toml:"dns"`
	Store        Store    `toml:"store"`
	// Datasources maps a msys.db datasource name to its URI
	// (sqlite:/path.db or postgres://...).
	Datasources map[string]string `toml:"datasources"`
}

// Script is one policy file. DryRun runs its modules in shadow mode.
type Script struct {
	Path   string `toml:"path"`
	DryRun bool   `toml:"dry_run"`
}

// DNS configures msys.dnsLookup.
type DNS struct {
	Servers []string      `toml:"servers" flag:"dns-server"`
	Timeout time.Duration `toml:"timeout" flag:"dns-timeout"`
}

// Store configures the counter back end of msys.audit_series,
// msys.gauge_cache and msys.counter.
type Store struct {
	Backend string   `toml:"backend" flag:"store"`
	Redis   []string `toml:"redis" flag:"redis"`
	Fail    string   `toml:"fail" flag:"store-fail"`
}

// DefaultControlSocket is where the control socket lives unless the
// configuration says otherwise.
const DefaultControlSocket = "/run/luamilter/control.sock"

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		ScriptTimeout:   2 * time.Second,
		OnError:         "tempfail",
		LogFormat:       "text",
		LogLevel:        "info",
		Listen:          []string{"inet:127.0.0.1:8891"},
		ControlSocket:   DefaultControlSocket,
		MaxSessions:     1000,
		SpoolDir:        os.TempDir(),
		SpoolThreshold:  1 << 20,
		MaxMessageSize:  50 << 20,
		MemoryLimit:     1 << 30,
		Negotiate:       "need",
		ShutdownTimeout: 30 * time.Second,
		ReadTimeout:     milter.DefaultReadTimeout,
		IdleTimeout:     milter.DefaultIdleTimeout,
		DNS:             DNS{Timeout: 5 * time.Second},
		Store:           Store{Backend: "memory", Fail: "open"},
	}
}

// LoadFile reads a TOML config file over cfg: keys present in the file
// replace cfg's values, the others stay. Unknown keys are an error, so a
// typo does not silently fall back to a default. Relative script and
// directory paths are taken relative to the file's directory.
func LoadFile(path string, cfg *Config) error {
	md, err := toml.DecodeFile(path, cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return fmt.Errorf("config %s:%d: %s", path, perr.Position.Line, perr.Message)
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return fmt.Errorf("config %s: unknown key(s) %s", path, strings.Join(keys, ", "))
	}
	base := filepath.Dir(path)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	if md.IsDefined("script") {
		for i := range cfg.Scripts {
			cfg.Scripts[i].Path = abs(cfg.Scripts[i].Path)
		}
	}
	for _, list := range []struct {
		key  string
		dirs []string
	}{{"script_dirs", cfg.ScriptDirs}, {"readfile_dirs", cfg.ReadfileDirs}} {
		if md.IsDefined(list.key) {
			for i := range list.dirs {
				list.dirs[i] = abs(list.dirs[i])
			}
		}
	}
	return nil
}

// Validate checks the values that can be checked without side effects.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Scripts) == 0 {
		errs = append(errs, errors.New("no policy script: give --script FILE or [[script]] path in the config file"))
	}
	for i, s := range c.Scripts {
		if s.Path == "" {
			errs = append(errs, fmt.Errorf("script #%d: empty path", i+1))
		}
	}
	if len(c.Listen) == 0 {
		errs = append(errs, errors.New("no listen socket"))
	}
	switch c.Negotiate {
	case "need", "all":
	default:
		errs = append(errs, fmt.Errorf("negotiate %q: want need or all", c.Negotiate))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log_format %q: want text or json", c.LogFormat))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdown_timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// ScriptPaths returns the script files in order.
func (c *Config) ScriptPaths() []string {
	out := make([]string, len(c.Scripts))
	for i, s := range c.Scripts {
		out[i] = s.Path
	}
	return out
}

// dryRunScripts returns the files whose modules run in shadow mode.
func (c *Config) dryRunScripts() []string {
	var out []string
	for _, s := range c.Scripts {
		if s.DryRun {
			out = append(out, s.Path)
		}
	}
	return out
}
