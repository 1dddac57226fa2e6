// Package cidr provides msys.cidr: named tables mapping IPv4 and IPv6
// prefixes to values, loaded from rbldnsd files or plain lists and
// queried with the longest matching prefix.
//
// Tables belong to a Library shared by all Lua states. Scripts define
// them from their init callout, which runs once per Lua state, so Define
// is idempotent: redefining a table with the same options keeps the
// loaded data. A background goroutine reloads tables whose source
// changed; Close stops it.
package cidr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// Table types accepted by Define.
const (
	TypeRbldnsd    = "rbldnsd"
	TypeList       = "list"
	TypeEmpty      = "empty"
	TypeDatasource = "datasource"
)

// DefaultRefresh is how often a table's source is checked when the
// definition gives no refresh interval.
const DefaultRefresh = 1800 * time.Second

// ErrNoDatasource is returned for type 'datasource' when Options has no
// Datasource hook.
var ErrNoDatasource = errors.New("datasource-backed cidr tables need a datasource (not configured)")

// Definition describes one named table, as given to msys.cidr.define.
type Definition struct {
	Type   string // TypeRbldnsd, TypeList, TypeEmpty or TypeDatasource
	Source string // file path for rbldnsd and list tables
	Value  string // rbldnsd column: "a" (default) or "txt"
	// Refresh is how often the source is checked for changes; zero means
	// only on Reload.
	Refresh time.Duration
	// Interpolate replaces "$" in returned values with the queried address.
	Interpolate bool
	// Default is returned when no prefix matches; only immutable Lua
	// values (nil, boolean, number, string) are allowed, since it is
	// shared by all states.
	Default lua.LValue
	// Datasource options, passed through to Options.Datasource.
	CacheName, Query, CIDRColumn, ValueColumn string
}

// Options configures a Library.
type Options struct {
	// Log receives load errors and skipped lines; slog.Default() if nil.
	Log *slog.Logger
	// CheckInterval is how often the refresher looks for due tables;
	// one second if zero.
	CheckInterval time.Duration
	// Datasource builds the Source of a 'datasource' table. When nil
	// such definitions fail with ErrNoDatasource.
	Datasource func(name string, def Definition) (Source, error)
}

// Library holds the named tables and implements luart.Library as
// "msys.cidr". It is safe for concurrent use.
type Library struct {
	opts     Options
	log      *slog.Logger
	defineMu sync.Mutex // serializes Define so concurrent inits load once
	mu       sync.RWMutex
	tables   map[string]*named
	stop     chan struct{}
	done     chan struct{}
	close    sync.Once
}

var _ luart.Library = (*Library)(nil)

// named is one defined table and its current data.
type named struct {
	def       Definition
	src       Source
	cur       atomic.Pointer[table]
	loadMu    sync.Mutex // one load at a time
	version   string     // from Versioner, at the last load
	nextCheck time.Time
}

// New returns a Library and starts its refresher; call Close when done.
func New(opts Options) *Library {
	l := &Library{
		opts:   opts,
		log:    opts.Log,
		tables: map[string]*named{},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.opts.CheckInterval <= 0 {
		l.opts.CheckInterval = time.Second
	}
	go l.refresher()
	return l
}

// Close stops the refresher. Tables stay queryable.
func (l *Library) Close() error {
	l.close.Do(func() { close(l.stop) })
	<-l.done
	return nil
}

// Name implements luart.Library.
func (l *Library) Name() string { return "msys.cidr" }

// Define creates or replaces the table name and loads it. Defining a
// table again with an identical definition does nothing.
func (l *Library) Define(ctx context.Context, name string, def Definition) error {
	l.defineMu.Lock()
	defer l.defineMu.Unlock()
	l.mu.RLock()
	old := l.tables[name]
	l.mu.RUnlock()
	if old != nil && old.def == def {
		return nil
	}
	src, err := l.source(name, def)
	if err != nil {
		return err
	}
	n := &named{def: def, src: src}
	if err := l.load(ctx, name, n); err != nil {
		return err
	}
	l.mu.Lock()
	l.tables[name] = n
	l.mu.Unlock()
	return nil
}

func (l *Library) source(name string, def Definition) (Source, error) {
	switch def.Type {
	case TypeEmpty:
		return emptySource{}, nil
	case TypeRbldnsd, TypeList:
		if def.Source == "" {
			return nil, fmt.Errorf("cidr table %q: type '%s' needs a source", name, def.Type)
		}
		if def.Value != "" && def.Value != "a" && def.Value != "txt" {
			return nil, fmt.Errorf("cidr table %q: value must be 'a' or 'txt', not '%s'", name, def.Value)
		}
		warn := func(err error) { l.log.Warn("cidr: skipped line", "table", name, "source", def.Source, "error", err) }
		return &FileSource{Path: def.Source, Format: Format(def.Type), Value: def.Value, Warn: warn}, nil
	case TypeDatasource:
		if l.opts.Datasource == nil {
			return nil, ErrNoDatasource
		}
		return l.opts.Datasource(name, def)
	}
	return nil, fmt.Errorf("cidr table %q: unknown type '%s' (want rbldnsd, list, empty or datasource)", name, def.Type)
}

// load reads n's source and installs the new data; on error the old
// data stays in place.
func (l *Library) load(ctx context.Context, name string, n *named) error {
	n.loadMu.Lock()
	defer n.loadMu.Unlock()
	// A failing Version leaves version empty, so the next check reloads;
	// Load reports the actual problem.
	var version string
	if v, ok := n.src.(Versioner); ok {
		version, _ = v.Version(ctx)
	}
	entries, err := n.src.Load(ctx)
	if err != nil {
		return fmt.Errorf("cidr table %q: %w", name, err)
	}
	t := buildTable(entries)
	n.cur.Store(t)
	n.version = version
	n.nextCheck = time.Now().Add(n.def.Refresh)
	l.log.Debug("cidr: loaded", "table", name, "entries", t.entries)
	return nil
}

// Reload reloads the table name from its source now.
func (l *Library) Reload(ctx context.Context, name string) error {
	n, err := l.get(name)
	if err != nil {
		return err
	}
	return l.load(ctx, name, n)
}

// Query returns the value of the longest prefix of table name containing
// addr (with "$" interpolated when the definition asks for it) and
// whether one matched. It fails only for an unknown table.
func (l *Library) Query(name string, addr netip.Addr) (string, bool, error) {
	n, err := l.get(name)
	if err != nil {
		return "", false, err
	}
	v, ok := n.query(addr)
	return v, ok, nil
}

// query looks addr up in n's current data.
func (n *named) query(addr netip.Addr) (string, bool) {
	v, ok := n.cur.Load().lookup(addr)
	if ok && n.def.Interpolate {
		v = interpolate(v, addr)
	}
	return v, ok
}

// Len returns the number of entries loaded into table name.
func (l *Library) Len(name string) (int, error) {
	n, err := l.get(name)
	if err != nil {
		return 0, err
	}
	return n.cur.Load().entries, nil
}

func (l *Library) get(name string) (*named, error) {
	l.mu.RLock()
	n := l.tables[name]
	l.mu.RUnlock()
	if n == nil {
		return nil, fmt.Errorf("no cidr table named '%s' (define it with msys.cidr.define)", name)
	}
	return n, nil
}
