package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
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
		&cli.BoolFlag{Name: "strict",
			Usage: "refuse scripts with findings `luamilter check` reports (unknown callout names) instead of warning"},
		&cli.BoolFlag{Name: "unsafe-lua",
			Usage: "open the full Lua libraries (io, os, debug) to scripts"},
		&cli.StringSliceFlag{Name: "script-env",
			Usage: "environment variable `NAME` os.getenv may return to scripts (repeatable; default none: os.getenv returns nil)"},
		&cli.StringSliceFlag{Name: "relay-network",
			Usage: "client `CIDR` whose sessions get can_relay=true (repeatable)"},
		&cli.StringFlag{Name: "per-recipient-edits", Value: def.PerRecipientEdits,
			Usage: "merge (apply per-recipient edits every recipient's copy agrees on) or split (one recipient per transaction)"},
		&cli.StringSliceFlag{Name: "split-network",
			Usage: "client `CIDR` the split rule applies to (repeatable; default every client)"},
		&cli.StringSliceFlag{Name: "split-listener",
			Usage: "MTA listener the split rule applies to, as its {daemon_name} or {daemon_port} `NAME` (repeatable; default every listener)"},
		&cli.StringFlag{Name: "inject-relay", Value: def.InjectRelay,
			Usage: "SMTP `HOST:PORT` msg:inject and msg:forward submit new messages to (the MTA's listener)"},
		&cli.StringFlag{Name: "log-format", Value: def.LogFormat, Usage: "text or json"},
		&cli.StringFlag{Name: "log-level", Value: def.LogLevel, Usage: "debug, info, warn or error"},
	}, moduleFlags()...)
}

// moduleFlags configure the msys.* libraries.
func moduleFlags() []cli.Flag {
	def := daemon.Default()
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "dns-server",
			Usage: "name server `IP[:PORT]` for msys.dnsLookup (default: /etc/resolv.conf)"},
		&cli.DurationFlag{Name: "dns-timeout", Value: def.DNS.Timeout,
			Usage: "limit for one msys.dnsLookup"},
		&cli.StringSliceFlag{Name: "readfile-dir",
			Usage: "`DIR` msys.readfile may read from (repeatable)"},
		&cli.StringSliceFlag{Name: "datasource",
			Usage: "msys.db datasource `NAME=URI` (sqlite:/path.db or postgres://...; repeatable)"},
		&cli.StringFlag{Name: "store", Value: def.Store.Backend,
			Usage: "counter back end for msys.audit_series/gauge_cache/counter: memory or redis"},
		&cli.StringSliceFlag{Name: "redis",
			Usage: "Redis `HOST:PORT` (repeat for Sentinels or Cluster seeds)"},
		&cli.StringFlag{Name: "store-fail", Value: def.Store.Fail,
			Usage: "when the store is unreachable: open (counts read 0) or closed (script gets an error)"},
	}
}

// offlineStack builds the stack test, replay and check run the scripts
// on, as serve builds it from cfg (libraries, memory brake, engine and
// server settings), logging to stderr and keeping jobs idle Lua threads
// for the messages played at once.
func offlineStack(cfg daemon.Config, jobs int) (*daemon.Stack, error) {
	log, _, err := daemon.NewLogger(cfg, os.Stderr)
	if err != nil {
		return nil, err
	}
	return daemon.NewStack(cfg, daemon.StackOptions{Log: log, PoolSize: jobs})
}
