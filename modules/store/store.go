// Package store holds the counters that policy scripts share: rolling-window
// series (msys.audit_series, msys.audit), gauges with a time to live
// (msys.gauge_cache) and monotonic counters (msys.counter).
//
// Two back ends implement Store: an in-process one with bounded memory, and
// Redis, which lets several milter instances share their counts.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Window is the shape of a rolling-window series: Windows buckets, each
// Interval long. Bucket 0 is the current one, 1 the one before, and so on.
type Window struct {
	Interval time.Duration
	Windows  int
}

// Validate reports a window shape that cannot be stored.
func (w Window) Validate() error {
	if w.Interval < time.Second {
		return fmt.Errorf("interval %v: must be at least one second", w.Interval)
	}
	if w.Windows < 1 || w.Windows > MaxWindows {
		return fmt.Errorf("num_windows %d: must be between 1 and %d", w.Windows, MaxWindows)
	}
	return nil
}

// MaxWindows bounds the number of buckets of one series.
const MaxWindows = 1024

// bucket returns the index of the bucket t falls into.
func (w Window) bucket(t time.Time) int64 {
	return t.UnixNano() / int64(w.Interval)
}

// span clamps a startv..endv window range (in either order) to the series.
func (w Window) span(startv, endv int) (lo, hi int) {
	if startv > endv {
		startv, endv = endv, startv
	}
	lo, hi = max(startv, 0), min(endv, w.Windows-1)
	return lo, hi
}

// Gauge is the shape of a gauge cache: how many keys it keeps and how long a
// key lives after its last change.
type Gauge struct {
	MaxElems int
	TTL      time.Duration
}

// Store is a counter back end. Every method is safe for concurrent use.
// Errors from a remote back end are *UnavailableError values.
type Store interface {
	// AddWindowed adds count to the current bucket of series/key.
	AddWindowed(ctx context.Context, series, key string, count int64, w Window) error
	// CountWindowed sums buckets startv..endv (0 = current) of series/key.
	CountWindowed(ctx context.Context, series, key string, w Window, startv, endv int) (int64, error)
	// AddAndCount adds count to the current bucket and returns the sum of
	// buckets startv..endv afterwards, as one atomic step.
	AddAndCount(ctx context.Context, series, key string, count int64, w Window, startv, endv int) (int64, error)
	// RemoveWindowed forgets series/key.
	RemoveWindowed(ctx context.Context, series, key string, w Window) error

	// GaugeAdd adds delta to gauge cache/key (never going below zero),
	// restarts its time to live and returns the new value.
	GaugeAdd(ctx context.Context, cache, key string, delta int64, g Gauge) (int64, error)
	// GaugeGet returns the value of cache/key, 0 when absent or expired.
	GaugeGet(ctx context.Context, cache, key string) (int64, error)
	// GaugeRemove forgets cache/key.
	GaugeRemove(ctx context.Context, cache, key string) error

	// CounterAdd adds delta to the named counter and returns the new value.
	CounterAdd(ctx context.Context, name string, delta int64) (int64, error)
	// CounterGet returns the named counter, 0 when it does not exist.
	CounterGet(ctx context.Context, name string) (int64, error)
	// CounterReset sets the named counter to zero.
	CounterReset(ctx context.Context, name string) error
	// CounterDelete removes the named counter.
	CounterDelete(ctx context.Context, name string) error

	// Stats reports the back end's bookkeeping.
	Stats() Stats
	// Close releases connections.
	Close() error
}

// Stats is what a Store reports about itself.
type Stats struct {
	Entries   int    // keys held in process (0 for Redis)
	Evictions uint64 // keys dropped because a series or cache was full
	Expired   uint64 // keys dropped because their windows or TTL ran out
	Errors    uint64 // operations that failed (Redis unreachable or slow)
}

// UnavailableError means the back end did not answer in time or at all.
type UnavailableError struct {
	Op  string
	Err error
}

// Error names the operation and the store failure.
func (e *UnavailableError) Error() string { return e.Op + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// IsUnavailable reports whether err came from an unreachable back end.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u)
}

// New builds the Store cfg names, wrapped with its fail-mode rule.
func New(cfg Config, log *slog.Logger) (*Shared, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var s Store
	switch cfg.Backend {
	case BackendMemory:
		s = NewMemory(cfg)
	case BackendRedis:
		s, err = NewRedis(cfg)
		if err != nil {
			return nil, err
		}
	}
	return newShared(s, cfg.FailMode == FailOpen, log, cfg.WarnEvery), nil
}
