package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"

	"github.com/luamilter/luamilter/internal/netspec"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/modules"
	"github.com/luamilter/luamilter/modules/db"
	"github.com/luamilter/luamilter/modules/store"
	"github.com/luamilter/luamilter/policy"
)

// NewLogger builds the slog logger cfg asks for, writing to w. Its level
// is the returned LevelVar, which a reload may change (Options.Level).
func NewLogger(cfg Config, w io.Writer) (*slog.Logger, *slog.LevelVar, error) {
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	lv := &slog.LevelVar{}
	lv.Set(level)
	opts := &slog.HandlerOptions{Level: lv}
	switch cfg.LogFormat {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), lv, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), lv, nil
	}
	return nil, nil, fmt.Errorf("log format %q: want text or json", cfg.LogFormat)
}

func parseLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return level, nil
}

// modulesConfig is the msys.* library configuration cfg describes.
func modulesConfig(cfg Config, log *slog.Logger) modules.Config {
	mc := modules.Config{
		DNSServers: cfg.DNS.Servers,
		DNSTimeout: cfg.DNS.Timeout,
		ReadDirs:   cfg.ReadfileDirs,
		Store:      store.Config{Backend: cfg.Store.Backend, Addrs: cfg.Store.Redis, FailMode: cfg.Store.Fail},
		Log:        log,
	}
	names := make([]string, 0, len(cfg.Datasources))
	for name := range cfg.Datasources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mc.Datasources = append(mc.Datasources, db.Datasource{Name: name, URI: cfg.Datasources[name]})
	}
	return mc
}

// RuntimeConfig is the luart configuration of one generation: cfg's
// scripts with the process's libraries and memory brake.
func RuntimeConfig(cfg Config, libs []luart.Library, brake *luart.Brake, log *slog.Logger) luart.Config {
	return luart.Config{
		Scripts:    cfg.ScriptPaths(),
		ScriptDirs: cfg.ScriptDirs,
		Timeout:    cfg.ScriptTimeout,
		Unsafe:     cfg.UnsafeLua,
		ScriptEnv:  cfg.ScriptEnv,
		Libraries:  libs,
		Log:        log,
		Brake:      brake,
		Setting:    cfg.Setting,
	}
}

// BuildLibraries builds the msys.* libraries cfg configures and returns
// them with the libraries every generation gets (msys.core, timers,
// pools). The caller closes the set.
func BuildLibraries(cfg Config, log *slog.Logger) (*modules.Set, []luart.Library, error) {
	if cfg.UnsafeLua {
		log.Warn("unsafe_lua: scripts can use io, os.execute and debug; they can read and write files and run programs")
	}
	set, err := modules.Build(modulesConfig(cfg, log))
	if err != nil {
		return nil, nil, err
	}
	libs := append(policy.Libraries(), set.Libraries...)
	return set, libs, nil
}

// EngineConfig is the policy engine configuration cfg describes, without
// observers.
func EngineConfig(cfg Config, log *slog.Logger) (policy.Config, error) {
	onErr, err := policy.ParseOnError(cfg.OnError)
	if err != nil {
		return policy.Config{}, err
	}
	nets, err := netspec.ParseList(cfg.RelayNetworks)
	if err != nil {
		return policy.Config{}, fmt.Errorf("relay network: %w", err)
	}
	return policy.Config{OnError: onErr, Log: log, RelayNetworks: nets,
		DryRun: cfg.DryRun, DryRunScripts: cfg.dryRunScripts(), InjectRelay: cfg.InjectRelay}, nil
}

// socketOptions are the unix milter socket's mode and owner.
func socketOptions(cfg Config) (milter.SocketOptions, error) {
	mode, err := parseSocketMode(cfg.SocketMode)
	if err != nil {
		return milter.SocketOptions{}, err
	}
	return milter.SocketOptions{Owner: cfg.SocketOwner, Mode: mode}, nil
}

// parseSocketMode reads an octal permission mode; "" is 0, which leaves
// the umask's choice. Higher bits (setuid, sticky) mean nothing on a
// socket, so they are refused as a likely typo.
func parseSocketMode(m string) (os.FileMode, error) {
	if m == "" {
		return 0, nil
	}
	mode, err := strconv.ParseUint(m, 8, 32)
	if err != nil || mode > 0o777 {
		return 0, fmt.Errorf("socket mode %q: want an octal mode like 0660", m)
	}
	return os.FileMode(mode), nil
}

// NeedsFunc is what the milter layer negotiates at each new connection
// under a negotiate setting: "all" asks for every event with a reply,
// anything else only for the events eng's scripts use.
func NeedsFunc(negotiate string, eng *policy.Engine) func() milter.Needs {
	if negotiate == "all" {
		return func() milter.Needs { return milter.Needs{All: true} }
	}
	return eng.Needs
}
