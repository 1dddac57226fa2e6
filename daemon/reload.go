package daemon

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/luamilter/luamilter/luart"
)

// ReloadResult describes a successful reload.
type ReloadResult struct {
	Generation uint64
	Modules    []string
	// Restart are the keys ("max_sessions", "dns.timeout") of the
	// settings that changed but wait for a restart; Warnings says the
	// same in sentences, for the control socket.
	Restart  []string
	Warnings []string
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
	for _, key := range res.Restart {
		d.log.Warn("reload: setting changed; it takes effect at the next restart", "setting", key)
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
	next, restart := reloadable(old, cfg)
	level, err := parseLevel(next.LogLevel)
	if err != nil {
		return ReloadResult{}, err
	}
	if d.opts.Level == nil && next.LogLevel != old.LogLevel {
		// Without a LevelVar the logger's level is fixed.
		restart = append(restart, "log_level")
		next.LogLevel = old.LogLevel
	}
	opts, err := GenerationOptions(next)
	if err != nil {
		return ReloadResult{}, err
	}
	rt, err := d.stack.Runtime(next)
	if err != nil {
		return ReloadResult{}, err
	}
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
	warnings := make([]string, len(restart))
	for i, key := range restart {
		warnings[i] = key + " changed; it takes effect at the next restart"
	}
	return ReloadResult{Generation: d.eng.Generation(), Modules: rt.ModuleNames(), Restart: restart, Warnings: warnings}, nil
}

// reloadable returns old with the settings whose reload tag is "apply"
// taken from cfg, and the keys of the other settings whose value differs
// in cfg: those keep their running value until a restart.
func reloadable(old, cfg Config) (Config, []string) {
	next := old
	var restart []string
	mergeSettings(reflect.ValueOf(&next).Elem(), reflect.ValueOf(cfg), "", &restart)
	return next, restart
}

// mergeSettings copies the "apply" settings of cfg into next, going into
// tables such as [dns], and appends to restart the keys of the others
// that differ. A setting without a tag is taken as restart-only, the
// safe choice; TestEverySettingSaysHowItReloads keeps there being none.
func mergeSettings(next, cfg reflect.Value, prefix string, restart *[]string) {
	t := next.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		key = prefix + key
		if f.Type.Kind() == reflect.Struct {
			mergeSettings(next.Field(i), cfg.Field(i), key+".", restart)
			continue
		}
		if f.Tag.Get("reload") == reloadApply {
			next.Field(i).Set(cfg.Field(i))
		} else if !sameSetting(next.Field(i), cfg.Field(i)) {
			*restart = append(*restart, key)
		}
	}
}

// Values of the reload struct tag every setting of Config carries.
const (
	reloadApply   = "apply"   // a reload hands the new value to new sessions
	reloadRestart = "restart" // the running value stays until a restart
)

// sameSetting compares two values of a Config field; an empty list or
// table equals a missing one, as both mean "none".
func sameSetting(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
