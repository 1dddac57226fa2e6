package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules"
	"github.com/luamilter/luamilter/policy"
)

// runtimeFlags are shared by serve, check and test.
func runtimeFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringSliceFlag{Name: "script", Aliases: []string{"s"}, EnvVars: []string{"LUAMILTER_SCRIPT"},
			Usage: "policy script `FILE` (repeatable; run in the given order)"},
		&cli.StringSliceFlag{Name: "script-dir", EnvVars: []string{"LUAMILTER_SCRIPT_DIR"},
			Usage: "extra `DIR` searched by require (the scripts' own directories always are)"},
		&cli.DurationFlag{Name: "script-timeout", Value: 2 * time.Second, EnvVars: []string{"LUAMILTER_SCRIPT_TIMEOUT"},
			Usage: "wall-clock limit for one callout"},
		&cli.StringFlag{Name: "on-error", Value: "tempfail", EnvVars: []string{"LUAMILTER_ON_ERROR"},
			Usage: "what a script error does to the current command: tempfail, accept or reject"},
		&cli.BoolFlag{Name: "unsafe-lua", EnvVars: []string{"LUAMILTER_UNSAFE_LUA"},
			Usage: "open the full Lua libraries (io, os, debug) to scripts"},
		&cli.StringSliceFlag{Name: "relay-network", EnvVars: []string{"LUAMILTER_RELAY_NETWORK"},
			Usage: "client `CIDR` whose sessions get can_relay=true (repeatable)"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"LUAMILTER_LOG_FORMAT"}, Usage: "text or json"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"LUAMILTER_LOG_LEVEL"}, Usage: "debug, info, warn or error"},
	}, moduleFlags()...)
}

// newLogger builds the slog logger from --log-format and --log-level.
func newLogger(c *cli.Context) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log-format") {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.String("log-format"))
}

// runtimeConfig turns the flags into a luart.Config and builds the msys.*
// libraries it uses; the caller closes the returned set.
func runtimeConfig(c *cli.Context, log *slog.Logger) (luart.Config, *modules.Set, error) {
	scripts := c.StringSlice("script")
	if len(scripts) == 0 {
		return luart.Config{}, nil, fmt.Errorf("no policy script: give --script FILE")
	}
	if c.Bool("unsafe-lua") {
		log.Warn("--unsafe-lua: scripts can use io, os.execute and debug; they can read and write files and run programs")
	}
	cfg := luart.Config{
		Scripts:    scripts,
		ScriptDirs: c.StringSlice("script-dir"),
		Timeout:    c.Duration("script-timeout"),
		Unsafe:     c.Bool("unsafe-lua"),
		Log:        log,
	}
	set, err := buildModules(c, &cfg)
	if err != nil {
		return luart.Config{}, nil, err
	}
	return cfg, set, nil
}

// engineConfig turns the flags into a policy.Config.
func engineConfig(c *cli.Context, log *slog.Logger) (policy.Config, error) {
	onErr, err := policy.ParseOnError(c.String("on-error"))
	if err != nil {
		return policy.Config{}, err
	}
	cfg := policy.Config{OnError: onErr, Log: log}
	for _, s := range c.StringSlice("relay-network") {
		if !strings.Contains(s, "/") {
			if strings.Contains(s, ":") {
				s += "/128"
			} else {
				s += "/32"
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return policy.Config{}, fmt.Errorf("--relay-network: %w", err)
		}
		cfg.RelayNetworks = append(cfg.RelayNetworks, n)
	}
	return cfg, nil
}
