package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/policy"
)

// ReloadResult describes a successful reload.
type ReloadResult struct {
	Generation uint64
	Modules    []string
	Warnings   []string // settings that changed but need a restart
}

// Reload re-reads the configuration, compiles every script into a new
// generation and switches new sessions to it once every init() returned
// true. Open sessions finish on the generation they began on. On any
// error nothing changes; the error is logged with file and line.
func (d *Daemon) Reload(ctx context.Context) (ReloadResult, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.stopping.Load() {
		return ReloadResult{}, errors.New("reload: the daemon is shutting down")
	}
	res, err := d.reload(ctx)
	if err != nil {
		d.met.reloads.WithLabelValues("failure").Inc()
		attrs := []any{"err", err.Error(), "generation", d.eng.Generation()}
		if se, ok := luart.AsScriptError(err); ok && se.File != "" {
			attrs = append(attrs, "file", se.File)
			if se.Line > 0 {
				attrs = append(attrs, "line", se.Line)
			}
		}
		d.log.Error("reload failed; the running scripts stay in use", attrs...)
		return res, err
	}
	d.met.reloads.WithLabelValues("success").Inc()
	for _, w := range res.Warnings {
		d.log.Warn("reload: " + w)
	}
	d.log.Info("reloaded", "generation", res.Generation, "modules", res.Modules)
	return res, nil
}

func (d *Daemon) reload(ctx context.Context) (ReloadResult, error) {
	old := d.Config()
	cfg := old
	if d.opts.Load != nil {
		var err error
		if cfg, err = d.opts.Load(); err != nil {
			return ReloadResult{}, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return ReloadResult{}, err
	}
	next, warnings := reloadable(old, cfg)
	level, err := parseLevel(next.LogLevel)
	if err != nil {
		return ReloadResult{}, err
	}
	if d.opts.Level == nil && next.LogLevel != old.LogLevel {
		warnings = append(warnings, "log_level changed; it takes effect at the next restart")
		next.LogLevel = old.LogLevel
	}
	ecfg, err := EngineConfig(next, d.log)
	if err != nil {
		return ReloadResult{}, err
	}
	rt, err := luart.New(RuntimeConfig(next, d.libs, d.brake, d.log))
	if err != nil {
		return ReloadResult{}, err
	}
	opts := policy.GenerationOptions{DryRun: ecfg.DryRun, DryRunScripts: ecfg.DryRunScripts,
		OnError: ecfg.OnError, RelayNetworks: ecfg.RelayNetworks}
	if err := d.eng.SwapWith(ctx, rt, opts); err != nil {
		rt.Close()
		return ReloadResult{}, err
	}
	d.mu.Lock()
	d.cfg = next
	d.mu.Unlock()
	if d.opts.Level != nil {
		d.opts.Level.Set(level)
	}
	if d.watch != nil {
		d.watch.update(next, rt.HelperPaths())
	}
	return ReloadResult{Generation: d.eng.Generation(), Modules: rt.ModuleNames(), Warnings: warnings}, nil
}

// reloadable takes from cfg what a reload can change (the scripts and
// how they run) and keeps the rest of old, listing what was ignored.
func reloadable(old, cfg Config) (Config, []string) {
	next := old
	next.Scripts = cfg.Scripts
	next.ScriptDirs = cfg.ScriptDirs
	next.ScriptTimeout = cfg.ScriptTimeout
	next.DryRun = cfg.DryRun
	next.UnsafeLua = cfg.UnsafeLua
	next.OnError = cfg.OnError
	next.RelayNetworks = cfg.RelayNetworks
	next.LogLevel = cfg.LogLevel
	var warnings []string
	check := func(name string, changed bool) {
		if changed {
			warnings = append(warnings, name+" changed; it takes effect at the next restart")
		}
	}
	check("listen", strings.Join(old.Listen, ",") != strings.Join(cfg.Listen, ","))
	check("control_socket", old.ControlSocket != cfg.ControlSocket)
	check("metrics_listen", old.MetricsListen != cfg.MetricsListen)
	check("pprof", old.Pprof != cfg.Pprof)
	check("dns", fmt.Sprint(old.DNS) != fmt.Sprint(cfg.DNS))
	check("store", fmt.Sprint(old.Store) != fmt.Sprint(cfg.Store))
	check("datasources", fmt.Sprint(old.Datasources) != fmt.Sprint(cfg.Datasources))
	check("readfile_dirs", strings.Join(old.ReadfileDirs, ",") != strings.Join(cfg.ReadfileDirs, ","))
	check("max_sessions", old.MaxSessions != cfg.MaxSessions)
	check("memory_limit", old.MemoryLimit != cfg.MemoryLimit)
	check("log_format", old.LogFormat != cfg.LogFormat)
	return next, warnings
}
