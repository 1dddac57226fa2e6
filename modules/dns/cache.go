package dns

import (
	"container/list"
	"slices"
	"sync"
	"time"
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

// cache is a mutex-guarded LRU of answers keyed by type, name and server.
// Expired entries are dropped when they are next read or when they reach
// the cold end of the list.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *cacheItem
	items map[string]*list.Element
}

type cacheItem struct {
	key string
	e   *entry
}

func newCache(max int) *cache {
	return &cache{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *cache) get(key string, now time.Time) (*entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	it := el.Value.(*cacheItem)
	if !now.Before(it.e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return it.e, true
}

func (c *cache) put(key string, e *entry, now time.Time) {
	e.expires = now.Add(e.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*cacheItem).e = e
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&cacheItem{key: key, e: e})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*cacheItem).key)
	}
}

// len reports the number of cached answers, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
