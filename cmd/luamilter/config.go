package main

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/modules/db"
)

// loadConfig merges, lowest rank first: built-in defaults, LUAMILTER_*
// environment variables, the --config file, command-line flags. It runs
// again at every reload, so a reload sees the file's current content.
func loadConfig(c *cli.Context) (daemon.Config, error) {
	cfg := daemon.Default()
	if err := applyEnv(&cfg, os.LookupEnv); err != nil {
		return cfg, err
	}
	if path := configPath(c); path != "" {
		if err := daemon.LoadFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := applyFlags(c, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// configProblems formats what Validate refused, one problem a line.
func configProblems(err error) string {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) == 1 {
		return "invalid configuration: " + lines[0]
	}
	return "invalid configuration:\n  " + strings.Join(lines, "\n  ")
}

// configPath is --config or $LUAMILTER_CONFIG.
func configPath(c *cli.Context) string {
	if p := c.String("config"); p != "" {
		return p
	}
	return os.Getenv("LUAMILTER_CONFIG")
}

// envName is the environment variable for a flag: LUAMILTER_SCRIPT_TIMEOUT
// for --script-timeout.
func envName(flag string) string {
	return "LUAMILTER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// settings walks the fields of cfg that have a flag tag.
func settings(cfg *daemon.Config, fn func(flag string, v reflect.Value) error) error {
	var walk func(v reflect.Value) error
	walk = func(v reflect.Value) error {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f, fv := t.Field(i), v.Field(i)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				if err := walk(fv); err != nil {
					return err
				}
				continue
			}
			if name := f.Tag.Get("flag"); name != "" {
				if err := fn(name, fv); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(reflect.ValueOf(cfg).Elem())
}

// applyEnv sets what the environment gives. Lists are comma-separated.
func applyEnv(cfg *daemon.Config, lookup func(string) (string, bool)) error {
	err := settings(cfg, func(flag string, v reflect.Value) error {
		s, ok := lookup(envName(flag))
		if !ok {
			return nil
		}
		if err := setFromString(v, s); err != nil {
			return fmt.Errorf("%s=%q: %w", envName(flag), s, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s, ok := lookup(envName("script")); ok {
		cfg.Scripts = scriptList(splitList(s))
	}
	if s, ok := lookup(envName("datasource")); ok {
		ds, err := datasources(splitList(s))
		if err != nil {
			return fmt.Errorf("%s: %w", envName("datasource"), err)
		}
		cfg.Datasources = ds
	}
	return nil
}

// applyFlags sets what was given on the command line.
func applyFlags(c *cli.Context, cfg *daemon.Config) error {
	err := settings(cfg, func(flag string, v reflect.Value) error {
		if !c.IsSet(flag) {
			return nil
		}
		switch v.Interface().(type) {
		case string:
			v.SetString(c.String(flag))
		case []string:
			v.Set(reflect.ValueOf(c.StringSlice(flag)))
		case bool:
			v.SetBool(c.Bool(flag))
		case int:
			v.SetInt(int64(c.Int(flag)))
		case int64:
			v.SetInt(c.Int64(flag))
		case float64:
			v.SetFloat(c.Float64(flag))
		case time.Duration:
			v.SetInt(int64(c.Duration(flag)))
		default:
			return fmt.Errorf("--%s: unsupported setting type %s", flag, v.Type())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c.IsSet("script") {
		cfg.Scripts = scriptList(c.StringSlice("script"))
	}
	if c.IsSet("datasource") {
		ds, err := datasources(c.StringSlice("datasource"))
		if err != nil {
			return fmt.Errorf("--datasource: %w", err)
		}
		cfg.Datasources = ds
	}
	return nil
}

func setFromString(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case string:
		v.SetString(s)
	case []string:
		v.Set(reflect.ValueOf(splitList(s)))
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		v.SetBool(b)
	case int, int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		v.SetInt(n)
	case float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want a number")
		}
		v.SetFloat(f)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration like 2s or 500ms")
		}
		v.SetInt(int64(d))
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func scriptList(paths []string) []daemon.Script {
	out := make([]daemon.Script, len(paths))
	for i, p := range paths {
		out[i] = daemon.Script{Path: p}
	}
	return out
}

// datasources reads NAME=URI settings with the parser msys.db uses.
func datasources(specs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, spec := range specs {
		ds, err := db.ParseDatasource(spec)
		if err != nil {
			return nil, err
		}
		out[ds.Name] = ds.URI
	}
	return out, nil
}
