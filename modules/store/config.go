package store

import (
	"fmt"
	"time"
)

// Back end names for Config.Backend.
const (
	BackendMemory = "memory"
	BackendRedis  = "redis"
)

// Fail modes for Config.FailMode.
const (
	// FailOpen makes the Lua libraries treat an unreachable store as empty:
	// adds are dropped and counts read 0, so mail keeps flowing.
	FailOpen = "open"
	// FailClosed makes them raise a Lua error the script can pcall.
	FailClosed = "closed"
)

// Config selects and tunes the counter back end.
type Config struct {
	// Backend is "memory" (default) or "redis".
	Backend string
	// Addrs are Redis host:port addresses: one server, the Sentinels when
	// MasterName is set, or cluster seeds when Cluster is set or there is
	// more than one address.
	Addrs []string
	// MasterName selects Sentinel mode with this master.
	MasterName string
	// Cluster selects Redis Cluster even with a single seed address.
	Cluster bool
	// Password authenticates to Redis (and to the Sentinels).
	Password string
	// DB is the Redis database number (not used by Cluster).
	DB int
	// Timeout bounds every Redis operation, connecting included
	// (default 200ms).
	Timeout time.Duration
	// FailMode is "open" (default) or "closed"; see FailOpen and FailClosed.
	FailMode string
	// KeyPrefix starts every Redis key (default "luamilter").
	KeyPrefix string
	// MaxEntries bounds the keys of one in-process series, gauge cache or
	// the counter table; the least recently written key is evicted
	// (default 100000).
	MaxEntries int
	// MaxSeries bounds the number of in-process series and gauge caches
	// (default 4096).
	MaxSeries int
	// WarnEvery rate-limits the fail-open warning (default one a minute).
	WarnEvery time.Duration
	// Now returns the current time; nil means time.Now. Tests set it to
	// move between windows without waiting.
	Now func() time.Time
}

// defaultWarnEvery is Config.WarnEvery when left zero.
const defaultWarnEvery = time.Minute

func (c Config) withDefaults() (Config, error) {
	if c.Backend == "" {
		c.Backend = BackendMemory
	}
	if c.Backend != BackendMemory && c.Backend != BackendRedis {
		return c, fmt.Errorf("store backend %q: want %q or %q", c.Backend, BackendMemory, BackendRedis)
	}
	if c.Backend == BackendRedis && len(c.Addrs) == 0 {
		return c, fmt.Errorf("store backend redis: no addresses configured")
	}
	if c.FailMode == "" {
		c.FailMode = FailOpen
	}
	if c.FailMode != FailOpen && c.FailMode != FailClosed {
		return c, fmt.Errorf("store fail mode %q: want %q or %q", c.FailMode, FailOpen, FailClosed)
	}
	if c.Timeout <= 0 {
		c.Timeout = 200 * time.Millisecond
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "luamilter"
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 100000
	}
	if c.MaxSeries <= 0 {
		c.MaxSeries = 4096
	}
	if c.WarnEvery <= 0 {
		c.WarnEvery = defaultWarnEvery
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
