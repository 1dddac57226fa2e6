package luart

import (
	"context"
	"runtime/metrics"
	"sync"
	"time"
)

// Brake stops Lua calls when the process heap grows past a limit, so one
// script building a huge table can't take the daemon down. It is shared by
// every Runtime of the process and created by the daemon, not globally.
type Brake struct {
	limit  uint64
	mu     sync.Mutex
	active map[int]context.CancelCauseFunc
	next   int
	stop   chan struct{}
}

// heapMetric is the heap the brake watches: live objects and garbage not
// yet collected, which is what a runaway script makes grow.
const heapMetric = "/memory/classes/heap/objects:bytes"

// NewBrake starts a brake that samples the heap every interval.
// limit is in bytes; 0 disables it.
func NewBrake(limit uint64, interval time.Duration) *Brake {
	b := &Brake{limit: limit, active: map[int]context.CancelCauseFunc{}, stop: make(chan struct{})}
	if limit > 0 {
		go b.run(interval)
	}
	return b
}

func (b *Brake) run(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			if b.HeapBytes() > b.limit {
				b.mu.Lock()
				for _, c := range b.active {
					c(errLimit)
				}
				b.mu.Unlock()
			}
		}
	}
}

// HeapBytes is the heap held by objects, live or not yet freed, in bytes.
func (b *Brake) HeapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return s[0].Value.Uint64()
	}
	return 0
}

// track registers a running call's cancel function, to be stopped when
// the heap is over the limit; untrack with the id it returns.
func (b *Brake) track(c context.CancelCauseFunc) int {
	b.mu.Lock()
	id := b.next
	b.next++
	b.active[id] = c
	b.mu.Unlock()
	return id
}

// untrack forgets the call numbered id. An id rather than a closure
// from track: every call into Lua goes through here, and `defer
// b.untrack(b.track(c))` allocates nothing.
func (b *Brake) untrack(id int) {
	b.mu.Lock()
	delete(b.active, id)
	b.mu.Unlock()
}

// Close stops the sampler.
func (b *Brake) Close() { close(b.stop) }
