// Package daemon runs luamilter as a service: it builds the libraries,
// the policy engine and the milter server from a Config, serves the
// milter sockets, reloads scripts on request (control socket, SIGHUP,
// file changes), exports Prometheus metrics and stops gracefully.
package daemon

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/luamilter/luamilter/internal/netspec"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/modules/dns"
	"github.com/luamilter/luamilter/modules/store"
	"github.com/luamilter/luamilter/policy"
)

// Config is everything luamilter serve can be told, as read from the TOML
// config file. Keys are the toml tags; the flag tag names the
// command-line flag that overrides the key (env LUAMILTER_<FLAG>, upper
// case with "-" as "_", fills in what neither sets).
//
// The reload tag of every setting says what a reload does with a changed
// value: "apply" hands it to new sessions, "restart" keeps the running
// value and logs the setting as waiting for a restart. What is built once
// at start is restart-only: the listeners, the milter server's limits and
// timeouts, the msys.* libraries (dns, store, datasources, readfile_dirs),
// the memory brake, the recorder, the log format and the engine's
// inject_relay. A table such as [dns] has no tag of its own; each of its
// keys has one.
type Config struct {
	// Scripts run in this order; [[script]] entries in the file.
	Scripts []Script `toml:"script" reload:"apply"`
	// ScriptDirs are searched by require.
	ScriptDirs    []string      `toml:"script_dirs" flag:"script-dir" reload:"apply"`
	ScriptTimeout time.Duration `toml:"script_timeout" flag:"script-timeout" reload:"apply"`
	OnError       string        `toml:"on_error" flag:"on-error" reload:"apply"`
	DryRun        bool          `toml:"dry_run" flag:"dry-run" reload:"apply"`
	UnsafeLua     bool          `toml:"unsafe_lua" flag:"unsafe-lua" reload:"apply"`
	RelayNetworks []string      `toml:"relay_networks" flag:"relay-network" reload:"apply"`
	// PerRecipientEdits is "merge" (per-recipient message copies are
	// merged; edits that differ between recipients are not applied) or
	// "split" (one recipient per transaction, see policy.RecipientSplit),
	// narrowed by SplitNetworks and SplitListeners when set.
	PerRecipientEdits string   `toml:"per_recipient_edits" flag:"per-recipient-edits" reload:"apply"`
	SplitNetworks     []string `toml:"split_networks" flag:"split-network" reload:"apply"`
	SplitListeners    []string `toml:"split_listeners" flag:"split-listener" reload:"apply"`
	LogFormat         string   `toml:"log_format" flag:"log-format" reload:"restart"`
	LogLevel          string   `toml:"log_level" flag:"log-level" reload:"apply"`
	// ScriptEnv names the environment variables os.getenv returns to
	// scripts; every other name reads as unset.
	ScriptEnv []string `toml:"script_env" flag:"script-env" reload:"apply"`
	// Strict refuses scripts with findings (see Lint) at start and at
	// reload instead of logging them as warnings.
	Strict bool `toml:"strict" flag:"strict" reload:"apply"`

	Listen          []string      `toml:"listen" flag:"listen" reload:"restart"`
	SocketMode      string        `toml:"socket_mode" flag:"socket-mode" reload:"restart"`
	SocketOwner     string        `toml:"socket_owner" flag:"socket-owner" reload:"restart"`
	ControlSocket   string        `toml:"control_socket" flag:"control-socket" reload:"restart"`
	MetricsListen   string        `toml:"metrics_listen" flag:"metrics-listen" reload:"restart"`
	Pprof           bool          `toml:"pprof" flag:"pprof" reload:"restart"`
	Watch           bool          `toml:"watch" flag:"watch" reload:"restart"`
	MaxSessions     int           `toml:"max_sessions" flag:"max-sessions" reload:"restart"`
	SpoolDir        string        `toml:"spool_dir" flag:"spool-dir" reload:"restart"`
	SpoolThreshold  int64         `toml:"spool_threshold" flag:"spool-threshold" reload:"restart"`
	MaxMessageSize  int64         `toml:"max_message_size" flag:"max-message-size" reload:"restart"`
	MemoryLimit     int64         `toml:"memory_limit" flag:"memory-limit" reload:"restart"`
	Negotiate       string        `toml:"negotiate" flag:"negotiate" reload:"apply"`
	ShutdownTimeout time.Duration `toml:"shutdown_timeout" flag:"shutdown-timeout" reload:"apply"`
	// ReadTimeout bounds one milter packet once its first byte came;
	// IdleTimeout bounds the wait for the MTA's next command.
	ReadTimeout time.Duration `toml:"read_timeout" flag:"read-timeout" reload:"restart"`
	IdleTimeout time.Duration `toml:"idle_timeout" flag:"idle-timeout" reload:"restart"`
	// GCHeadroom is how far the Go heap may grow past its live data
	// before the garbage collector runs (see gcTuner); 0 keeps Go's
	// pace (GOGC).
	GCHeadroom int64 `toml:"gc_headroom" flag:"gc-headroom" reload:"restart"`
	// LuaThreads bounds the Lua threads sessions hold at once: the one
	// running Lua and those waiting in a library call (msys.dnsLookup,
	// a datasource query). A session that needs one while all are taken
	// waits for one. 0 is luart.DefaultMaxThreads(), max(4, 2 × the
	// cores Go runs on).
	LuaThreads int `toml:"lua_threads" flag:"lua-threads" reload:"apply"`
	// InjectRelay is the SMTP HOST:PORT msg:inject and msg:forward
	// submit new messages to, normally the MTA's own listener.
	InjectRelay string `toml:"inject_relay" flag:"inject-relay" reload:"restart"`
	// Record, when set, is the directory each transaction is recorded
	// to (see milter/record), within RecordMaxBytes; RecordSample is the
	// fraction of transactions recorded.
	Record         string  `toml:"record" flag:"record" reload:"restart"`
	RecordMaxBytes int64   `toml:"record_max_bytes" flag:"record-max-bytes" reload:"restart"`
	RecordSample   float64 `toml:"record_sample" flag:"record-sample" reload:"restart"`

	ReadfileDirs []string `toml:"readfile_dirs" flag:"readfile-dir" reload:"restart"`
	DNS          DNS      `toml:"dns"`
	Store        Store    `toml:"store"`
	// Datasources maps a msys.db datasource name to its URI
	// (sqlite:/path.db or postgres://...).
	Datasources map[string]string `toml:"datasources" reload:"restart"`
}

// Script is one policy file. DryRun runs its modules in shadow mode.
type Script struct {
	Path   string `toml:"path"`
	DryRun bool   `toml:"dry_run"`
}

// DNS configures msys.dnsLookup.
type DNS struct {
	Servers []string      `toml:"servers" flag:"dns-server" reload:"restart"`
	Timeout time.Duration `toml:"timeout" flag:"dns-timeout" reload:"restart"`
}

// Store configures the counter back end of msys.audit_series,
// msys.gauge_cache and msys.counter.
type Store struct {
	Backend string   `toml:"backend" flag:"store" reload:"restart"`
	Redis   []string `toml:"redis" flag:"redis" reload:"restart"`
	Fail    string   `toml:"fail" flag:"store-fail" reload:"restart"`
}

// DefaultControlSocket is where the control socket lives unless the
// configuration says otherwise.
const DefaultControlSocket = "/run/luamilter/control.sock"

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		ScriptTimeout: 2 * time.Second,
		OnError:       "tempfail",
		// Merge, not split: splitting delays the deferred recipients
		// (a sending MTA gets one more through per retry) and some mail
		// clients give up on 452; see the README.
		PerRecipientEdits: "merge",
		LogFormat:         "text",
		LogLevel:          "info",
		Listen:            []string{"inet:127.0.0.1:8891"},
		ControlSocket:     DefaultControlSocket,
		MaxSessions:       1000,
		SpoolDir:          DefaultSpoolDir,
		SpoolThreshold:    1 << 20,
		MaxMessageSize:    50 << 20,
		MemoryLimit:       1 << 30,
		GCHeadroom:        8 << 20,
		Negotiate:         "need",
		ShutdownTimeout:   30 * time.Second,
		ReadTimeout:       milter.DefaultReadTimeout,
		IdleTimeout:       milter.DefaultIdleTimeout,
		InjectRelay:       policy.DefaultInjectRelay,
		RecordMaxBytes:    1 << 30,
		RecordSample:      1,
		DNS:               DNS{Timeout: 5 * time.Second},
		Store:             Store{Backend: "memory", Fail: "open"},
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
	// spool_dir too: under systemd the working directory is /, so a
	// path relative to it would not be where the file's author meant.
	if md.IsDefined("spool_dir") {
		cfg.SpoolDir = abs(cfg.SpoolDir)
	}
	if md.IsDefined("record") {
		cfg.Record = abs(cfg.Record)
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

// Validate checks every setting that can be checked without side effects
// and reports all impossible values at once, each naming its key and
// value. Start and reload both refuse a Config it rejects, so a value
// is either refused everywhere or accepted everywhere. The spool
// directory itself is checked at start (prepareSpoolDir), since that
// touches the file system.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key string, value any, why string) {
		errs = append(errs, fmt.Errorf("%s = %s: %s", key, showValue(value), why))
	}
	if len(c.Scripts) == 0 {
		errs = append(errs, errors.New("no policy script: give --script FILE or [[script]] path in the config file"))
	}
	for i, s := range c.Scripts {
		if s.Path == "" {
			errs = append(errs, fmt.Errorf("script #%d: empty path", i+1))
		}
	}
	if c.ScriptTimeout <= 0 {
		bad("script_timeout", c.ScriptTimeout, "must be greater than 0: every callout needs a deadline")
	}
	if _, err := policy.ParseOnError(c.OnError); err != nil || c.OnError == "" {
		bad("on_error", c.OnError, "want tempfail, accept or reject")
	}
	for _, nets := range []struct {
		key  string
		list []string
	}{{"relay_networks", c.RelayNetworks}, {"split_networks", c.SplitNetworks}} {
		for _, n := range nets.list {
			if _, err := netspec.Parse(n); err != nil {
				bad(nets.key, n, "want a CIDR like 192.0.2.0/24 or a single address")
			}
		}
	}
	switch c.PerRecipientEdits {
	case "merge", "split":
	default:
		bad("per_recipient_edits", c.PerRecipientEdits, "want merge or split")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log_format", c.LogFormat, "want text or json")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("log_level", c.LogLevel, "want debug, info, warn or error")
	}

	if len(c.Listen) == 0 {
		errs = append(errs, errors.New("listen: no milter socket"))
	}
	for _, spec := range c.Listen {
		if _, _, err := milter.ParseSpec(spec); err != nil {
			bad("listen", spec, "want inet:HOST:PORT, inet6:[HOST]:PORT, PORT@HOST or unix:/path")
		}
	}
	if _, err := parseSocketMode(c.SocketMode); err != nil {
		bad("socket_mode", c.SocketMode, "want an octal file mode up to 0777, like 0660")
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("metrics_listen", c.MetricsListen, "want HOST:PORT")
		}
	}
	if c.MaxSessions <= 0 {
		bad("max_sessions", c.MaxSessions, "must be at least 1: without a cap a flood of connections can exhaust memory")
	}
	if c.SpoolDir == "" {
		bad("spool_dir", c.SpoolDir, "must name a directory")
	}
	if c.SpoolThreshold <= 0 {
		// The milter server would silently take 0 as its 1 MiB default.
		bad("spool_threshold", c.SpoolThreshold, "must be greater than 0 bytes")
	}
	if c.MaxMessageSize <= 0 {
		bad("max_message_size", c.MaxMessageSize, "must be greater than 0 bytes: a size limit is required (a large one is fine)")
	}
	if c.MemoryLimit < 0 {
		bad("memory_limit", c.MemoryLimit, "must not be negative (0 turns the limit off)")
	}
	if c.GCHeadroom < 0 {
		bad("gc_headroom", c.GCHeadroom, "must not be negative (0 keeps Go's own pace, GOGC)")
	}
	if c.LuaThreads < 0 {
		bad("lua_threads", c.LuaThreads, "must not be negative (0 is max(4, 2 × cores))")
	}
	switch c.Negotiate {
	case "need", "all":
	default:
		bad("negotiate", c.Negotiate, "want need or all")
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown_timeout", c.ShutdownTimeout, "must not be negative (0 cuts open sessions at once)")
	}
	if c.ReadTimeout <= 0 {
		bad("read_timeout", c.ReadTimeout, "must be greater than 0")
	}
	if c.IdleTimeout <= 0 {
		bad("idle_timeout", c.IdleTimeout, "must be greater than 0")
	}
	if host, port, err := net.SplitHostPort(c.InjectRelay); err != nil || host == "" || port == "" {
		bad("inject_relay", c.InjectRelay, "want HOST:PORT of the MTA's SMTP listener, like 127.0.0.1:25")
	}
	if c.RecordMaxBytes <= 0 {
		bad("record_max_bytes", c.RecordMaxBytes, "must be greater than 0 bytes")
	}
	if !(c.RecordSample >= 0 && c.RecordSample <= 1) {
		bad("record_sample", c.RecordSample, "want a fraction from 0 to 1")
	}

	for _, s := range c.DNS.Servers {
		if _, err := dns.ParseServer(s); err != nil {
			bad("dns.servers", s, "want IP or IP:PORT ([IP]:PORT for IPv6)")
		}
	}
	if c.DNS.Timeout <= 0 {
		bad("dns.timeout", c.DNS.Timeout, "must be greater than 0")
	}
	switch c.Store.Backend {
	case store.BackendMemory:
	case store.BackendRedis:
		if len(c.Store.Redis) == 0 {
			errs = append(errs, errors.New("store.backend = \"redis\": store.redis lists no HOST:PORT"))
		}
	default:
		bad("store.backend", c.Store.Backend, "want memory or redis")
	}
	switch c.Store.Fail {
	case store.FailOpen, store.FailClosed:
	default:
		bad("store.fail", c.Store.Fail, "want open or closed")
	}
	return errors.Join(errs...)
}

// showValue formats a setting's value as it would be written in the
// config file, so that an error quotes what the user wrote.
func showValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case time.Duration:
		return strconv.Quote(v.String())
	}
	return fmt.Sprint(v)
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
