package main

import (
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules"
	"github.com/luamilter/luamilter/policy"
)

// Flags carry no EnvVars: loadConfig reads LUAMILTER_<FLAG> itself so
// that a value from the environment ranks below the config file.

func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Aliases: []string{"c"},
		Usage: "TOML config `FILE`; flags override it, LUAMILTER_* environment variables fill in what neither sets"}
}

// runtimeFlags are shared by serve, check and test.
func runtimeFlags() []cli.Flag {
	def := daemon.Default()
	return append([]cli.Flag{
		configFlag(),
		&cli.StringSliceFlag{Name: "script", Aliases: []string{"s"},
			Usage: "policy script `FILE` (repeatable; run in the given order; replaces the config file's list)"},
		&cli.StringSliceFlag{Name: "script-dir",
			Usage: "extra `DIR` searched by require (the scripts' own directories always are)"},
		&cli.DurationFlag{Name: "script-timeout", Value: def.ScriptTimeout,
			Usage: "wall-clock limit for one callout"},
		&cli.StringFlag{Name: "on-error", Value: def.OnError,
			Usage: "what a script error does to the current command: tempfail, accept or reject"},
		&cli.BoolFlag{Name: "dry-run",
			Usage: "shadow mode: run the scripts and log what they decide, but tell the MTA to continue"},
		&cli.BoolFlag{Name: "unsafe-lua",
			Usage: "open the full Lua libraries (io, os, debug) to scripts"},
		&cli.StringSliceFlag{Name: "relay-network",
			Usage: "client `CIDR` whose sessions get can_relay=true (repeatable)"},
		&cli.StringFlag{Name: "log-format", Value: def.LogFormat, Usage: "text or json"},
		&cli.StringFlag{Name: "log-level", Value: def.LogLevel, Usage: "debug, info, warn or error"},
	}, moduleFlags()...)
}

// newLogger builds the logger from the merged configuration.
func newLogger(c *cli.Context) (*slog.Logger, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	log, _, err := daemon.NewLogger(cfg, os.Stderr)
	return log, err
}

// runtimeConfig turns the configuration into a luart.Config and builds
// the msys.* libraries it uses; the caller closes the returned set.
func runtimeConfig(c *cli.Context, log *slog.Logger) (luart.Config, *modules.Set, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return luart.Config{}, nil, err
	}
	if len(cfg.Scripts) == 0 {
		return luart.Config{}, nil, cli.Exit("no policy script: give --script FILE or a config file with [[script]] entries", 2)
	}
	if cfg.UnsafeLua {
		log.Warn("unsafe_lua: scripts can use io, os.execute and debug; they can read and write files and run programs")
	}
	set, err := modules.Build(daemon.ModulesConfig(cfg, log))
	if err != nil {
		return luart.Config{}, nil, err
	}
	return daemon.RuntimeConfig(cfg, daemon.Libraries(set), nil, log), set, nil
}

// engineConfig turns the configuration into a policy.Config.
func engineConfig(c *cli.Context, log *slog.Logger) (policy.Config, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return policy.Config{}, err
	}
	return daemon.EngineConfig(cfg, log)
}
