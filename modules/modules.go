// Package modules builds the msys.* libraries luamilter offers to policy
// scripts. Each library lives in its own package and implements
// luart.Library; this package only wires them to one configuration.
package modules

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/auditseries"
	"github.com/luamilter/luamilter/modules/base64"
	"github.com/luamilter/luamilter/modules/cidr"
	"github.com/luamilter/luamilter/modules/counter"
	"github.com/luamilter/luamilter/modules/db"
	"github.com/luamilter/luamilter/modules/dns"
	"github.com/luamilter/luamilter/modules/dumper"
	"github.com/luamilter/luamilter/modules/gaugecache"
	"github.com/luamilter/luamilter/modules/httpclient"
	"github.com/luamilter/luamilter/modules/idn"
	"github.com/luamilter/luamilter/modules/json"
	"github.com/luamilter/luamilter/modules/msysfuncs"
	"github.com/luamilter/luamilter/modules/pcre"
	"github.com/luamilter/luamilter/modules/qp"
	"github.com/luamilter/luamilter/modules/store"
)

// Config is what the libraries need from luamilter's configuration.
// Every field comes from a user setting; the libraries without one
// (msys.pcre's match timeout, msys.http's timeout and body limit,
// msys.audit's monitors) run with their packages' defaults.
type Config struct {
	DNSServers  []string
	DNSTimeout  time.Duration
	ReadDirs    []string // directories msys.readfile may read
	Store       store.Config
	Datasources []db.Datasource
	Log         *slog.Logger
}

// Set is the built libraries plus the long-lived objects behind them,
// shared by every Lua state and every reload generation.
type Set struct {
	Libraries []luart.Library
	PCRE      *pcre.Engine
	Audit     *auditseries.Audit
	// Store holds the counters; its Stats feed the daemon's metrics.
	Store   *store.Shared
	closers []io.Closer
}

// Build creates every library from cfg.
func Build(cfg Config) (*Set, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Set{}
	resolver, err := dns.New(dns.Options{Servers: cfg.DNSServers, Timeout: cfg.DNSTimeout, Log: cfg.Log})
	if err != nil {
		return nil, fmt.Errorf("msys.dnsLookup: %w", err)
	}
	shared, err := store.New(cfg.Store, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("counter store: %w", err)
	}
	s.closers = append(s.closers, shared)
	s.Store = shared
	audit, err := auditseries.NewAudit(shared, nil)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("msys.audit: %w", err)
	}
	s.Audit = audit
	ds, err := db.Open(cfg.Datasources, cfg.Log)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("datasources: %w", err)
	}
	s.closers = append(s.closers, ds)
	cidrLib := cidr.New(cidr.Options{Log: cfg.Log, Datasource: cidrDatasource(ds)})
	httpLib := httpclient.New(httpclient.Options{})
	s.closers = append(s.closers, cidrLib, httpLib)
	s.PCRE = pcre.NewEngine(pcre.Options{})
	s.Libraries = []luart.Library{
		pcre.NewLibrary(s.PCRE),
		json.New(json.Options{}),
		base64.New(),
		qp.New(),
		idn.New(),
		dumper.New(),
		msysfuncs.New(msysfuncs.Options{ReadDirs: cfg.ReadDirs}),
		resolver,
		cidrLib,
		httpLib,
		auditseries.New(auditseries.Options{Store: shared, Log: cfg.Log}),
		auditseries.NewAuditLibrary(audit),
		gaugecache.New(gaugecache.Options{Store: shared}),
		counter.New(counter.Options{Store: shared}),
		db.NewLibrary(ds),
		db.NewDatasourceLibrary(),
	}
	return s, nil
}

// Close releases connections, files and background refreshers.
func (s *Set) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
