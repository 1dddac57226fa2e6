package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Memory is the in-process Store. Each series, gauge cache and the counter
// table hold at most Config.MaxEntries keys; the least recently written key
// is evicted first, and keys whose windows or TTL have run out are dropped
// as new keys are written.
type Memory struct {
	cfg Config

	mu       sync.Mutex // guards the maps, not the tables inside
	series   map[string]*table
	gauges   map[string]*table
	counters *table

	evictions, expired atomic.Uint64
}

// table is one locked lru.
type table struct {
	mu sync.Mutex
	c  *lru
}

// windowed is one key of a series: a ring of bucket counts.
type windowed struct {
	buckets []int64 // bucket b lives at b % len(buckets)
	last    int64   // bucket index of the last roll
}

// gauge is one key of a gauge cache.
type gauge struct {
	val     int64
	expires time.Time
}

// NewMemory returns an empty in-process store.
func NewMemory(cfg Config) *Memory {
	cfg, _ = cfg.withDefaults()
	return &Memory{
		cfg:      cfg,
		series:   make(map[string]*table),
		gauges:   make(map[string]*table),
		counters: &table{c: newLRU(cfg.MaxEntries)},
	}
}

func (m *Memory) table(kind map[string]*table, name string, max int) (*table, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := kind[name]; ok {
		return t, nil
	}
	if len(m.series)+len(m.gauges) >= m.cfg.MaxSeries {
		return nil, fmt.Errorf("%s: too many series and gauge caches (limit %d)", name, m.cfg.MaxSeries)
	}
	if max <= 0 || max > m.cfg.MaxEntries {
		max = m.cfg.MaxEntries
	}
	t := &table{c: newLRU(max)}
	kind[name] = t
	return t, nil
}

// existing returns the table name of kind, or nil if nothing has created
// it yet; reads never create tables.
func (m *Memory) existing(kind map[string]*table, name string) *table {
	m.mu.Lock()
	defer m.mu.Unlock()
	return kind[name]
}

// remove drops key from the table name of kind, if that table exists.
func (m *Memory) remove(kind map[string]*table, name, key string) {
	if t := m.existing(kind, name); t != nil {
		t.mu.Lock()
		t.c.remove(key)
		t.mu.Unlock()
	}
}

// roll advances e to bucket now, zeroing the buckets it skips.
func (e *windowed) roll(now int64) {
	n := int64(len(e.buckets))
	if now-e.last >= n || now < e.last {
		clear(e.buckets)
	} else {
		for b := e.last + 1; b <= now; b++ {
			e.buckets[b%n] = 0
		}
	}
	e.last = now
}

func (e *windowed) sum(now int64, lo, hi int) (s int64) {
	for v := lo; v <= hi; v++ {
		if b := now - int64(v); b >= 0 {
			s += e.buckets[b%int64(len(e.buckets))]
		}
	}
	return s
}

// AddWindowed implements Store.
func (m *Memory) AddWindowed(ctx context.Context, series, key string, count int64, w Window) error {
	_, err := m.AddAndCount(ctx, series, key, count, w, 0, 0)
	return err
}

// AddAndCount implements Store.
func (m *Memory) AddAndCount(_ context.Context, series, key string, count int64, w Window, startv, endv int) (int64, error) {
	if err := w.Validate(); err != nil {
		return 0, fmt.Errorf("series %s: %w", series, err)
	}
	t, err := m.table(m.series, series, 0)
	if err != nil {
		return 0, err
	}
	now := w.bucket(m.cfg.Now())
	t.mu.Lock()
	defer t.mu.Unlock()
	m.expired.Add(uint64(t.c.expireTail(func(v any) bool { return now-v.(*windowed).last >= int64(w.Windows) })))
	var e *windowed
	if v, ok := t.c.get(key); ok && len(v.(*windowed).buckets) == w.Windows {
		e = v.(*windowed)
		t.c.touch(key)
	} else {
		e = &windowed{buckets: make([]int64, w.Windows), last: now}
		m.evictions.Add(uint64(t.c.put(key, e)))
	}
	e.roll(now)
	e.buckets[now%int64(w.Windows)] += count
	lo, hi := w.span(startv, endv)
	return e.sum(now, lo, hi), nil
}

// CountWindowed implements Store.
func (m *Memory) CountWindowed(_ context.Context, series, key string, w Window, startv, endv int) (int64, error) {
	if err := w.Validate(); err != nil {
		return 0, fmt.Errorf("series %s: %w", series, err)
	}
	t := m.existing(m.series, series)
	if t == nil {
		return 0, nil
	}
	now := w.bucket(m.cfg.Now())
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.c.get(key)
	if !ok || len(v.(*windowed).buckets) != w.Windows {
		return 0, nil
	}
	e := v.(*windowed)
	e.roll(now)
	lo, hi := w.span(startv, endv)
	return e.sum(now, lo, hi), nil
}

// RemoveWindowed implements Store.
func (m *Memory) RemoveWindowed(_ context.Context, series, key string, _ Window) error {
	m.remove(m.series, series, key)
	return nil
}

// GaugeAdd implements Store.
func (m *Memory) GaugeAdd(_ context.Context, cache, key string, delta int64, g Gauge) (int64, error) {
	if g.TTL <= 0 {
		return 0, fmt.Errorf("gauge cache %s: ttl %v must be positive", cache, g.TTL)
	}
	t, err := m.table(m.gauges, cache, g.MaxElems)
	if err != nil {
		return 0, err
	}
	now := m.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	m.expired.Add(uint64(t.c.expireTail(func(v any) bool { return !now.Before(v.(*gauge).expires) })))
	var val int64
	if v, ok := t.c.get(key); ok && now.Before(v.(*gauge).expires) {
		val = v.(*gauge).val
	}
	val = max(val+delta, 0)
	if val == 0 {
		t.c.remove(key)
		return 0, nil
	}
	m.evictions.Add(uint64(t.c.put(key, &gauge{val: val, expires: now.Add(g.TTL)})))
	return val, nil
}

// GaugeGet implements Store.
func (m *Memory) GaugeGet(_ context.Context, cache, key string) (int64, error) {
	t := m.existing(m.gauges, cache)
	if t == nil {
		return 0, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.c.get(key)
	if !ok {
		return 0, nil
	}
	if g := v.(*gauge); m.cfg.Now().Before(g.expires) {
		return g.val, nil
	}
	t.c.remove(key)
	m.expired.Add(1)
	return 0, nil
}

// GaugeRemove implements Store.
func (m *Memory) GaugeRemove(_ context.Context, cache, key string) error {
	m.remove(m.gauges, cache, key)
	return nil
}

// CounterAdd implements Store.
func (m *Memory) CounterAdd(_ context.Context, name string, delta int64) (int64, error) {
	t := m.counters
	t.mu.Lock()
	defer t.mu.Unlock()
	var val int64
	if v, ok := t.c.get(name); ok {
		val = v.(int64)
	}
	val += delta
	m.evictions.Add(uint64(t.c.put(name, val)))
	return val, nil
}

// CounterGet implements Store.
func (m *Memory) CounterGet(_ context.Context, name string) (int64, error) {
	t := m.counters
	t.mu.Lock()
	defer t.mu.Unlock()
	v, _ := t.c.get(name)
	n, _ := v.(int64)
	return n, nil
}

// CounterReset implements Store.
func (m *Memory) CounterReset(_ context.Context, name string) error {
	t := m.counters
	t.mu.Lock()
	defer t.mu.Unlock()
	m.evictions.Add(uint64(t.c.put(name, int64(0))))
	return nil
}

// CounterDelete implements Store.
func (m *Memory) CounterDelete(_ context.Context, name string) error {
	t := m.counters
	t.mu.Lock()
	defer t.mu.Unlock()
	t.c.remove(name)
	return nil
}

// Stats implements Store.
func (m *Memory) Stats() Stats {
	m.mu.Lock()
	tables := make([]*table, 0, len(m.series)+len(m.gauges)+1)
	for _, t := range m.series {
		tables = append(tables, t)
	}
	for _, t := range m.gauges {
		tables = append(tables, t)
	}
	m.mu.Unlock()
	tables = append(tables, m.counters)
	n := 0
	for _, t := range tables {
		t.mu.Lock()
		n += t.c.len()
		t.mu.Unlock()
	}
	return Stats{Entries: n, Evictions: m.evictions.Load(), Expired: m.expired.Load()}
}

// Close implements Store.
func (m *Memory) Close() error { return nil }
