// Package lru is a small, size-bounded, least-recently-used cache that is
// safe for concurrent use. The module caches (DNS answers, compiled
// patterns) share it so that eviction works the same way everywhere.
package lru

import (
	"container/list"
	"sync"
)

// Cache maps keys to values and holds at most a fixed number of them;
// adding one more drops the least recently used. The zero value is not
// usable; call New.
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *item[K, V]
	items map[K]*list.Element
}

type item[K comparable, V any] struct {
	key K
	val V
}

// New returns an empty Cache that holds at most max values. A max of zero
// or less keeps nothing.
func New[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max, order: list.New(), items: make(map[K]*list.Element)}
}

// Get returns the value for key and marks it most recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	return c.GetValid(key, nil)
}

// GetValid is Get, except that when valid is non-nil and reports false
// for the stored value (an expired answer, say) the entry is dropped and
// reported missing. The check and the drop happen under one lock, so a
// value stored concurrently is never dropped by mistake.
func (c *Cache[K, V]) GetValid(key K, valid func(V) bool) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	it := el.Value.(*item[K, V])
	if valid != nil && !valid(it.val) {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return it.val, true
}

// Put stores val under key, replacing any value already there, marks it
// most recently used and drops the least recently used entries beyond the
// bound.
func (c *Cache[K, V]) Put(key K, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*item[K, V]).val = val
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&item[K, V]{key: key, val: val})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*item[K, V]).key)
	}
}

// Len reports the number of values held, including any that GetValid
// would now reject.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
