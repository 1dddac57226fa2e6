package db

import (
	"container/list"
	"fmt"
	"strings"
	"sync"
	"time"
)

// cache keeps query results for a datasource: at most size entries, each
// for life; the least recently used entry goes first.
type cache struct {
	mu    sync.Mutex
	size  int
	life  time.Duration
	now   func() time.Time
	order *list.List // front = most recently used *cached
	items map[string]*list.Element
}

type cached struct {
	key     string
	res     *Result
	expires time.Time
}

func newCache(size int, life time.Duration, now func() time.Time) *cache {
	return &cache{size: size, life: life, now: now, order: list.New(), items: make(map[string]*list.Element)}
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

func (c *cache) get(key string) (*Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	it := e.Value.(*cached)
	if !c.now().Before(it.expires) {
		c.order.Remove(e)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(e)
	return it.res, true
}

func (c *cache) put(key string, res *Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.Remove(e)
		delete(c.items, key)
	}
	for c.order.Len() >= c.size {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*cached).key)
	}
	c.items[key] = c.order.PushFront(&cached{key: key, res: res, expires: c.now().Add(c.life)})
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
