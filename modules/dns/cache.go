package dns

import (
	"slices"
	"time"

	"github.com/luamilter/luamilter/internal/lru"
)

// entry is one cached answer: records for a positive answer, or the
// status of a negative one.
type entry struct {
	records []Record
	status  string
	ttl     time.Duration
	expires time.Time
}

// result returns a copy of the records, or the cached negative status as
// a LookupError.
func (e *entry) result() ([]Record, error) {
	if e.status != "" {
		return nil, &LookupError{Status: e.status}
	}
	return slices.Clone(e.records), nil
}

// cache is an LRU of answers keyed by type, name and server. Expired
// entries are dropped when they are next read or when they reach the cold
// end of the list.
type cache struct {
	lru *lru.Cache[string, *entry]
}

func newCache(max int) *cache {
	return &cache{lru: lru.New[string, *entry](max)}
}

// get returns the answer cached under key unless it has expired by now.
func (c *cache) get(key string, now time.Time) (*entry, bool) {
	return c.lru.GetValid(key, func(e *entry) bool { return now.Before(e.expires) })
}

// put stores e under key, to expire e.ttl after now.
func (c *cache) put(key string, e *entry, now time.Time) {
	e.expires = now.Add(e.ttl)
	c.lru.Put(key, e)
}

// len reports the number of cached answers, expired ones included.
func (c *cache) len() int {
	return c.lru.Len()
}
