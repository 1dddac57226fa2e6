package store

import "container/list"

// lru is a map that remembers the order keys were last written in, so the
// oldest can be evicted or expired from the tail. It is not locked; its
// owner holds a mutex.
type lru struct {
	max   int
	order *list.List // front = most recently written *item
	items map[string]*list.Element
}

type item struct {
	key string
	val any
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the value for key without changing its position.
func (c *lru) get(key string) (any, bool) {
	if e, ok := c.items[key]; ok {
		return e.Value.(*item).val, true
	}
	return nil, false
}

// touch moves key to the front, as just written.
func (c *lru) touch(key string) {
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
	}
}

// put stores val at the front and returns how many keys it evicted.
func (c *lru) put(key string, val any) (evicted int) {
	if e, ok := c.items[key]; ok {
		e.Value.(*item).val = val
		c.order.MoveToFront(e)
		return 0
	}
	for c.order.Len() >= c.max {
		c.remove(c.order.Back().Value.(*item).key)
		evicted++
	}
	c.items[key] = c.order.PushFront(&item{key: key, val: val})
	return evicted
}

func (c *lru) remove(key string) bool {
	e, ok := c.items[key]
	if ok {
		c.order.Remove(e)
		delete(c.items, key)
	}
	return ok
}

// expireTail removes keys from the tail while dead says they are dead, and
// returns how many it removed. Keys are ordered by last write, so the scan
// stops at the first live one.
func (c *lru) expireTail(dead func(val any) bool) (n int) {
	for e := c.order.Back(); e != nil; e = c.order.Back() {
		it := e.Value.(*item)
		if !dead(it.val) {
			break
		}
		c.remove(it.key)
		n++
	}
	return n
}

func (c *lru) len() int { return len(c.items) }
