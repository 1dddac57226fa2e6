package main

import (
	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules"
)

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

// buildModules creates the msys.* libraries from the configuration and
// adds them, with msys.core, to cfg.
func buildModules(c *cli.Context, cfg *luart.Config) (*modules.Set, error) {
	dc, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	set, err := modules.Build(daemon.ModulesConfig(dc, cfg.Log))
	if err != nil {
		return nil, err
	}
	cfg.Libraries = append(cfg.Libraries, daemon.Libraries(set)...)
	return set, nil
}
