package db

import (
	"fmt"
	"strings"
	"time"

	"github.com/luamilter/luamilter/internal/lru"
)

// cache keeps query results for a datasource: at most size entries, each
// for life; the least recently used entry goes first.
type cache struct {
	lru  *lru.Cache[string, cached]
	life time.Duration
	now  func() time.Time
}

type cached struct {
	res     *Result
	expires time.Time
}

func newCache(size int, life time.Duration, now func() time.Time) *cache {
	return &cache{lru: lru.New[string, cached](size), life: life, now: now}
}

// cacheKey identifies a query and its arguments; the type is part of the
// key so that 1 and "1" do not share an entry.
func cacheKey(query string, args []any) string {
	var b strings.Builder
	b.WriteString(query)
	for _, a := range args {
		fmt.Fprintf(&b, "\x00%T:%v", a, a)
	}
	return b.String()
}

// get returns the result cached under key unless its life has run out.
func (c *cache) get(key string) (*Result, bool) {
	now := c.now()
	it, ok := c.lru.GetValid(key, func(e cached) bool { return now.Before(e.expires) })
	return it.res, ok
}

// put stores res under key for the cache's life from now.
func (c *cache) put(key string, res *Result) {
	c.lru.Put(key, cached{res: res, expires: c.now().Add(c.life)})
}

// len reports the number of cached results, expired ones included.
func (c *cache) len() int {
	return c.lru.Len()
}
