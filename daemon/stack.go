package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/luamilter/luamilter/callout"
	"github.com/luamilter/luamilter/internal/netspec"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/modules"
	"github.com/luamilter/luamilter/modules/db"
	"github.com/luamilter/luamilter/modules/store"
	"github.com/luamilter/luamilter/policy"
)

// Stack is the composition root: the one place that turns a Config into
// the layers of a running luamilter (msys.* libraries, Lua runtime,
// policy engine, milter server configuration). The daemon, the offline
// commands (test, replay, check) and the in-process test servers of
// internal/milttest all build through it, so they run what serve runs.
// It lives in this package because Config does: a package of its own
// would have to import daemon for Config while the daemon imports it.
//
// A Stack owns the libraries and the memory brake; each engine built
// from it belongs to the caller, who closes it before the Stack.
type Stack struct {
	cfg   Config
	opts  StackOptions
	log   *slog.Logger
	mods  *modules.Set // nil with NoModules
	libs  []luart.Library
	brake *luart.Brake
	// waits counts the waits for a Lua thread across generations.
	waits *luart.ThreadWaits
	// sessions is the register the milter server records its sessions
	// in and the engine counts them from.
	sessions *milter.Sessions
}

// StackOptions are how a stack differs from the one serve builds from
// the same Config. The zero value is serve's.
type StackOptions struct {
	// Log receives every log line; nil means slog.Default().
	Log *slog.Logger
	// Libraries are added to every generation before the msys.*
	// libraries: tests bring fakes of their own.
	Libraries []luart.Library
	// NoModules leaves out the msys.* libraries the Config describes,
	// for tests that bring only what they test; the engine then has no
	// msys.audit accounting and only Regex as its pattern engine.
	NoModules bool
	// PoolSize is how many idle Lua threads each generation keeps; 0 is
	// luart's default. The offline commands keep one per job.
	PoolSize int
	// Brake, when set, is the memory brake instead of the one
	// memory_limit would start, for tests that need to trip it.
	Brake *luart.Brake
	// Regex, when set, is the pattern engine of msg:body_match and
	// friends instead of msys.pcre's.
	Regex policy.Regex
	// Observe, when set, may add observers to the engine configuration
	// before the engine is built (the daemon's metrics).
	Observe func(*policy.Config)
	// Check, when set, inspects every runtime Runtime compiles, before
	// any init() runs, under the configuration it was compiled from; an
	// error refuses the scripts (the daemon's lint and strict mode).
	Check func(*luart.Runtime, Config) error
}

// NewStack validates cfg and builds the libraries and the memory brake
// it describes. Nothing runs a script yet: see Engine.
func NewStack(cfg Config, opts StackOptions) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	s := &Stack{cfg: cfg, opts: opts, log: opts.Log, brake: opts.Brake, waits: &luart.ThreadWaits{}, sessions: milter.NewSessions()}
	if cfg.UnsafeLua {
		s.log.Warn("unsafe_lua: scripts can use io, os.execute and debug; they can read and write files and run programs")
	}
	s.libs = append(policy.Libraries(), opts.Libraries...)
	if !opts.NoModules {
		mods, err := modules.Build(modulesConfig(cfg, s.log))
		if err != nil {
			return nil, err
		}
		s.mods = mods
		s.libs = append(s.libs, mods.Libraries...)
	}
	if s.brake == nil && cfg.MemoryLimit > 0 {
		s.brake = luart.NewBrake(uint64(cfg.MemoryLimit), 50*time.Millisecond)
	}
	return s, nil
}

// Config is the configuration the stack was built from.
func (s *Stack) Config() Config { return s.cfg }

// Log is the stack's logger.
func (s *Stack) Log() *slog.Logger { return s.log }

// Modules are the msys.* libraries, nil with NoModules.
func (s *Stack) Modules() *modules.Set { return s.mods }

// RuntimeConfig is the luart configuration of one script generation:
// cfg's scripts and how they run, with the stack's libraries, brake and
// pool size. A reload passes its new Config; the libraries stay.
func (s *Stack) RuntimeConfig(cfg Config) luart.Config {
	return luart.Config{
		Callouts:   callout.Names(),
		Scripts:    cfg.ScriptPaths(),
		ScriptDirs: cfg.ScriptDirs,
		Timeout:    cfg.ScriptTimeout,
		Unsafe:     cfg.UnsafeLua,
		ScriptEnv:  cfg.ScriptEnv,
		Libraries:  s.libs,
		Log:        s.log,
		Brake:      s.brake,
		Setting:    cfg.Setting,
		PoolSize:   s.opts.PoolSize,
		MaxThreads: cfg.LuaThreads,
		Waits:      s.waits,
	}
}

// ThreadWaits counts the sessions that waited for a Lua thread (the
// lua_threads bound) in every generation built from the stack.
func (s *Stack) ThreadWaits() *luart.ThreadWaits { return s.waits }

// Runtime compiles cfg's scripts into a runtime and runs the Check
// option on it. The caller closes it, or hands it to an engine.
func (s *Stack) Runtime(cfg Config) (*luart.Runtime, error) {
	rt, err := luart.New(s.RuntimeConfig(cfg))
	if err != nil {
		return nil, err
	}
	if s.opts.Check != nil {
		if err := s.opts.Check(rt, cfg); err != nil {
			rt.Close()
			return nil, err
		}
	}
	return rt, nil
}

// Engine compiles the stack's scripts and starts the policy engine on
// them, running every init(). The caller closes the engine.
func (s *Stack) Engine(ctx context.Context) (*policy.Engine, error) {
	rt, err := s.Runtime(s.cfg)
	if err != nil {
		return nil, err
	}
	eng, err := s.EngineWith(ctx, rt)
	if err != nil {
		rt.Close()
		return nil, err
	}
	return eng, nil
}

// EngineWith starts the policy engine on a runtime compiled elsewhere
// (check loads the scripts one by one), running every init(). On error
// rt stays the caller's to close.
func (s *Stack) EngineWith(ctx context.Context, rt *luart.Runtime) (*policy.Engine, error) {
	gen, err := GenerationOptions(s.cfg)
	if err != nil {
		return nil, err
	}
	ecfg := policy.Config{OnError: gen.OnError, Log: s.log, RelayNetworks: gen.RelayNetworks, Split: gen.Split, Sessions: s.sessions,
		DryRun: gen.DryRun, DryRunScripts: gen.DryRunScripts, InjectRelay: s.cfg.InjectRelay, Regex: s.opts.Regex}
	if s.mods != nil {
		ecfg.Accounting = s.mods.Audit
		if ecfg.Regex == nil {
			ecfg.Regex = s.mods.PCRE
		}
	}
	if s.opts.Observe != nil {
		s.opts.Observe(&ecfg)
	}
	return policy.NewEngine(ctx, rt, ecfg)
}

// GenerationOptions are the engine settings of one script generation
// that cfg describes; a reload hands them to the engine with the new
// runtime.
func GenerationOptions(cfg Config) (policy.GenerationOptions, error) {
	onErr, err := policy.ParseOnError(cfg.OnError)
	if err != nil {
		return policy.GenerationOptions{}, err
	}
	nets, err := netspec.ParseList(cfg.RelayNetworks)
	if err != nil {
		return policy.GenerationOptions{}, fmt.Errorf("relay network: %w", err)
	}
	splitNets, err := netspec.ParseList(cfg.SplitNetworks)
	if err != nil {
		return policy.GenerationOptions{}, fmt.Errorf("split network: %w", err)
	}
	split := policy.RecipientSplit{On: cfg.PerRecipientEdits == "split", Networks: splitNets, Listeners: cfg.SplitListeners}
	return policy.GenerationOptions{OnError: onErr, RelayNetworks: nets, Split: split,
		DryRun: cfg.DryRun, DryRunScripts: cfg.dryRunScripts()}, nil
}

// ServerConfig is the milter server configuration serving backend (eng,
// or eng wrapped) under the stack's settings, negotiating as the
// negotiate setting says for eng's scripts. A caller with reasons of its
// own changes fields of the result: the daemon lets a reload change
// Needs, the offline commands spool in their private directory.
func (s *Stack) ServerConfig(backend milter.Backend, eng *policy.Engine) milter.Config {
	return milter.Config{
		Backend:        backend,
		Sessions:       s.sessions,
		Log:            s.log,
		Needs:          NeedsFunc(s.cfg.Negotiate, eng),
		Macros:         milter.DefaultMacros,
		MaxSessions:    s.cfg.MaxSessions,
		SpoolDir:       s.cfg.SpoolDir,
		SpoolThreshold: s.cfg.SpoolThreshold,
		MaxMessageSize: s.cfg.MaxMessageSize,
		ReadTimeout:    s.cfg.ReadTimeout,
		IdleTimeout:    s.cfg.IdleTimeout,
	}
}

// Close stops the memory brake and closes the libraries; the engines
// built from the stack must be closed first.
func (s *Stack) Close() error {
	if s.brake != nil && s.opts.Brake == nil {
		s.brake.Close()
	}
	if s.mods == nil {
		return nil
	}
	if err := s.mods.Close(); err != nil {
		return fmt.Errorf("close libraries: %w", err)
	}
	return nil
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
