package daemon

import (
	"context"
	"errors"
	"reflect"
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
	if err := d.reportFindings(Lint(rt), next.Strict); err != nil {
		rt.Close()
		return ReloadResult{}, err
	}
	opts := policy.GenerationOptions{DryRun: ecfg.DryRun, DryRunScripts: ecfg.DryRunScripts,
		OnError: ecfg.OnError, RelayNetworks: ecfg.RelayNetworks, Split: ecfg.Split}
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
// how they run) and keeps the rest of old, listing every other setting
// that changed: those wait for a restart.
func reloadable(old, cfg Config) (Config, []string) {
	next := old
	next.Scripts = cfg.Scripts
	next.ScriptDirs = cfg.ScriptDirs
	next.ScriptTimeout = cfg.ScriptTimeout
	next.DryRun = cfg.DryRun
	next.UnsafeLua = cfg.UnsafeLua
	next.OnError = cfg.OnError
	next.RelayNetworks = cfg.RelayNetworks
	next.PerRecipientEdits = cfg.PerRecipientEdits
	next.SplitNetworks = cfg.SplitNetworks
	next.SplitListeners = cfg.SplitListeners
	next.LogLevel = cfg.LogLevel
	next.Strict = cfg.Strict
	// Compared field by field rather than from a list, so that a
	// setting added later can't be ignored at reload without a word.
	var warnings []string
	nv, cv := reflect.ValueOf(next), reflect.ValueOf(cfg)
	for i := 0; i < nv.NumField(); i++ {
		if !sameSetting(nv.Field(i), cv.Field(i)) {
			key, _, _ := strings.Cut(nv.Type().Field(i).Tag.Get("toml"), ",")
			warnings = append(warnings, key+" changed; it takes effect at the next restart")
		}
	}
	return next, warnings
}

// sameSetting compares two values of a Config field; an empty list or
// table equals a missing one, as both mean "none".
func sameSetting(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !sameSetting(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
