// Package db implements msys.db (and the empty msys.datasource that
// scripts require alongside it): SQL queries against configured
// datasources, SQLite through modernc.org/sqlite and PostgreSQL through
// pgx, with a per-datasource result cache. Datasources is also the Go API
// other libraries (msys.cidr type "datasource") query through.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Defaults for Datasource fields left zero.
const (
	DefaultCacheSize = 1000
	DefaultCacheLife = 5 * time.Minute
	DefaultTimeout   = 10 * time.Second
	DefaultPoolSize  = 8
	DefaultMaxRows   = 100000
)

// Datasource configures one named datasource ("cache" in Momentum terms).
type Datasource struct {
	// Name is what scripts pass to msys.db.query.
	Name string
	// URI is "sqlite:/path/to.db" (or "sqlite::memory:") or
	// "postgres://user:pass@host:port/db?sslmode=disable".
	URI string
	// CacheSize bounds the cached results (DefaultCacheSize if zero).
	CacheSize int
	// CacheLife is how long a result stays cached (DefaultCacheLife if zero).
	CacheLife time.Duration
	// NoCache turns the result cache off.
	NoCache bool
	// Timeout bounds one query on top of the caller's context
	// (DefaultTimeout if zero).
	Timeout time.Duration
	// PoolSize bounds open connections (DefaultPoolSize if zero; SQLite
	// in-memory databases always use one).
	PoolSize int
	// MaxRows makes a query returning more rows fail (DefaultMaxRows if zero).
	MaxRows int
}

// ParseDatasource reads a "NAME=URI" setting.
func ParseDatasource(s string) (Datasource, error) {
	name, uri, ok := strings.Cut(s, "=")
	name, uri = strings.TrimSpace(name), strings.TrimSpace(uri)
	if !ok || name == "" || uri == "" {
		return Datasource{}, fmt.Errorf("datasource %q: want NAME=URI", s)
	}
	return Datasource{Name: name, URI: uri}, nil
}

// Result is the outcome of a query. Values are nil (NULL), int64, float64,
// bool or string; results may be shared through the cache and must not be
// modified.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Datasources holds the configured datasources and their pools.
type Datasources struct {
	log     *slog.Logger
	now     func() time.Time
	sources map[string]*source
}

type source struct {
	cfg   Datasource
	db    *sql.DB
	style int
	cache *cache // nil when NoCache
}

// Open opens every datasource; it does not connect until first use.
func Open(cfgs []Datasource, log *slog.Logger) (*Datasources, error) {
	if log == nil {
		log = slog.Default()
	}
	d := &Datasources{log: log, now: time.Now, sources: make(map[string]*source)}
	for _, c := range cfgs {
		if _, dup := d.sources[c.Name]; dup {
			d.Close()
			return nil, fmt.Errorf("datasource %s: defined twice", c.Name)
		}
		s, err := openSource(c, d.now)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("datasource %s: %w", c.Name, err)
		}
		d.sources[c.Name] = s
	}
	return d, nil
}

func openSource(c Datasource, now func() time.Time) (*source, error) {
	if c.Name == "" {
		return nil, errors.New("empty name")
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.MaxRows <= 0 {
		c.MaxRows = DefaultMaxRows
	}
	s := &source{}
	var err error
	switch {
	case strings.HasPrefix(c.URI, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(c.URI, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("uri %q has no path", c.URI)
		}
		s.style = styleQuestion
		s.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if path == ":memory:" {
			// Each connection would get its own empty database.
			c.PoolSize = 1
			s.db.SetConnMaxIdleTime(0)
		}
	case strings.HasPrefix(c.URI, "postgres://"), strings.HasPrefix(c.URI, "postgresql://"):
		s.style = styleDollar
		s.db, err = sql.Open("pgx", c.URI)
	default:
		return nil, fmt.Errorf("uri %q: want sqlite:/path or postgres://...", c.URI)
	}
	if err != nil {
		return nil, err
	}
	s.db.SetMaxOpenConns(c.PoolSize)
	s.db.SetMaxIdleConns(c.PoolSize)
	if !c.NoCache {
		size, life := c.CacheSize, c.CacheLife
		if size <= 0 {
			size = DefaultCacheSize
		}
		if life <= 0 {
			life = DefaultCacheLife
		}
		s.cache = newCache(size, life, now)
	}
	s.cfg = c
	return s, nil
}

func (d *Datasources) source(name string) (*source, error) {
	if d == nil || d.sources[name] == nil {
		return nil, fmt.Errorf("datasource %q is not configured", name)
	}
	return d.sources[name], nil
}

// Query runs a SELECT on the named datasource, answering from its cache
// when it can.
func (d *Datasources) Query(ctx context.Context, name, query string, p Params) (*Result, error) {
	return d.query(ctx, name, query, p, false)
}

// QueryNoCache runs a SELECT bypassing (but refreshing) the cache.
func (d *Datasources) QueryNoCache(ctx context.Context, name, query string, p Params) (*Result, error) {
	return d.query(ctx, name, query, p, true)
}

func (d *Datasources) query(ctx context.Context, name, query string, p Params, nocache bool) (*Result, error) {
	s, err := d.source(name)
	if err != nil {
		return nil, err
	}
	q, args, err := bind(query, s.style, p)
	if err != nil {
		return nil, fmt.Errorf("datasource %s: %w", name, err)
	}
	key := ""
	if s.cache != nil {
		key = cacheKey(q, args)
		if !nocache {
			if res, ok := s.cache.get(key); ok {
				return res, nil
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := s.run(ctx, q, args)
	if err != nil {
		return nil, fmt.Errorf("datasource %s: %w", name, err)
	}
	if s.cache != nil {
		s.cache.put(key, res)
	}
	return res, nil
}

func (s *source) run(ctx context.Context, q string, args []any) (*Result, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if len(res.Rows) >= s.cfg.MaxRows {
			return nil, fmt.Errorf("query returned more than %d rows", s.cfg.MaxRows)
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(cols))
		for i, v := range vals {
			row[i] = normalize(v)
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}

// normalize maps driver values onto the few types Result promises.
func normalize(v any) any {
	switch v := v.(type) {
	case nil, int64, float64, bool, string:
		return v
	case []byte:
		return string(v)
	case int32:
		return int64(v)
	case int:
		return int64(v)
	case float32:
		return float64(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(v)
	}
}

// Exec runs a statement that returns no rows and reports the rows it
// affected (0 when the driver cannot tell).
func (d *Datasources) Exec(ctx context.Context, name, query string, p Params) (int64, error) {
	s, err := d.source(name)
	if err != nil {
		return 0, err
	}
	q, args, err := bind(query, s.style, p)
	if err != nil {
		return 0, fmt.Errorf("datasource %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	r, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("datasource %s: %w", name, err)
	}
	n, _ := r.RowsAffected()
	return n, nil
}

// Close closes every pool.
func (d *Datasources) Close() error {
	var errs []error
	for _, s := range d.sources {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}
