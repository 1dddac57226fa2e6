package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules"
	"github.com/luamilter/luamilter/modules/db"
	"github.com/luamilter/luamilter/modules/store"
	"github.com/luamilter/luamilter/policy"
)

// moduleFlags configure the msys.* libraries.
func moduleFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "dns-server", EnvVars: []string{"LUAMILTER_DNS_SERVER"},
			Usage: "name server `IP[:PORT]` for msys.dnsLookup (default: /etc/resolv.conf)"},
		&cli.DurationFlag{Name: "dns-timeout", Value: 5 * time.Second, EnvVars: []string{"LUAMILTER_DNS_TIMEOUT"},
			Usage: "limit for one msys.dnsLookup"},
		&cli.StringSliceFlag{Name: "readfile-dir", EnvVars: []string{"LUAMILTER_READFILE_DIR"},
			Usage: "`DIR` msys.readfile may read from (repeatable)"},
		&cli.StringSliceFlag{Name: "datasource", EnvVars: []string{"LUAMILTER_DATASOURCE"},
			Usage: "msys.db datasource `NAME=URI` (sqlite:/path.db or postgres://...)"},
		&cli.StringFlag{Name: "store", Value: "memory", EnvVars: []string{"LUAMILTER_STORE"},
			Usage: "counter back end for msys.audit_series/gauge_cache/counter: memory or redis"},
		&cli.StringSliceFlag{Name: "redis", EnvVars: []string{"LUAMILTER_REDIS"},
			Usage: "Redis `HOST:PORT` (repeat for Sentinels or Cluster seeds)"},
		&cli.StringFlag{Name: "store-fail", Value: "open", EnvVars: []string{"LUAMILTER_STORE_FAIL"},
			Usage: "when the store is unreachable: open (counts read 0) or closed (script gets an error)"},
	}
}

// buildModules creates the msys.* libraries from the flags.
func buildModules(c *cli.Context, cfg *luart.Config) (*modules.Set, error) {
	mc := modules.Config{
		DNSServers: c.StringSlice("dns-server"),
		DNSTimeout: c.Duration("dns-timeout"),
		ReadDirs:   c.StringSlice("readfile-dir"),
		Store: store.Config{Backend: c.String("store"), Addrs: c.StringSlice("redis"),
			FailMode: c.String("store-fail")},
		Log: cfg.Log,
	}
	for _, spec := range c.StringSlice("datasource") {
		name, uri, ok := strings.Cut(spec, "=")
		if !ok || name == "" || uri == "" {
			return nil, fmt.Errorf("--datasource %q: want NAME=URI", spec)
		}
		mc.Datasources = append(mc.Datasources, db.Datasource{Name: name, URI: uri})
	}
	set, err := modules.Build(mc)
	if err != nil {
		return nil, err
	}
	cfg.Libraries = append(cfg.Libraries, policy.CoreLibrary())
	cfg.Libraries = append(cfg.Libraries, set.Libraries...)
	return set, nil
}
