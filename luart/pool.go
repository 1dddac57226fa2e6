package luart

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// PoolStats describes a Runtime's threads at one moment, for metrics.
type PoolStats struct {
	Idle    int    // threads kept for reuse
	InUse   int64  // threads held by sessions, init, deinit or the scheduler now
	Created uint64 // threads made since the Runtime was made
	Max     int    // bound on the threads Acquire hands out at once
}

// DefaultMaxThreads is the bound on threads in use when Config.MaxThreads
// is zero: twice the cores Go runs on, and at least 4. Only one thread
// runs Lua at a time; the others are sessions waiting in a library call
// (a DNS lookup, a datasource query), so the bound is about how many of
// those may wait at once, not about parallelism.
func DefaultMaxThreads() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// ThreadWaits counts the callers of Acquire that found every thread in
// use and waited for one, and how long they waited. One may be shared by
// the Runtimes of successive generations, so that a metric built on it
// keeps counting across reloads.
type ThreadWaits struct {
	n     atomic.Uint64
	nanos atomic.Int64
}

// Count is how many times a caller waited for a thread.
func (w *ThreadWaits) Count() uint64 { return w.n.Load() }

// Time is the time callers spent waiting for a thread, in total.
func (w *ThreadWaits) Time() time.Duration { return time.Duration(w.nanos.Load()) }

// pool keeps idle threads for reuse and bounds those in use. A thread
// is a stack and a call stack on the generation's state, a few
// kilobytes, so none are made ahead. Idle threads form a stack: the one
// given back last is handed out first, and a caller may ask for a
// particular one (see get), so that a session finds the _OSTLS it left.
type pool struct {
	rt     *Runtime
	size   int
	mu     sync.Mutex
	idle   []*State
	closed bool

	// slots holds a token for every thread handed out by Acquire; its
	// capacity is the bound. Thread (the scheduler's) takes none.
	slots chan struct{}
	waits *ThreadWaits

	inUse   atomic.Int64
	created atomic.Uint64
}

func newPool(rt *Runtime, size, maxThreads int, waits *ThreadWaits) *pool {
	return &pool{rt: rt, size: size, idle: make([]*State, 0, size),
		slots: make(chan struct{}, maxThreads), waits: waits}
}

// trySlot takes a slot for a thread if one is free.
func (p *pool) trySlot() bool {
	select {
	case p.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// waitSlot waits for a slot until ctx ends, counting the wait.
func (p *pool) waitSlot(ctx context.Context) error {
	start := time.Now()
	p.waits.n.Add(1)
	defer func() { p.waits.nanos.Add(int64(time.Since(start))) }()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for a Lua thread (lua_threads = %d in use): %w", cap(p.slots), context.Cause(ctx))
	}
}

func (p *pool) freeSlot() { <-p.slots }

// get takes the idle thread numbered prefer if there is one, else the
// top one, else makes one.
func (p *pool) get(prefer uint64) *State {
	p.inUse.Add(1)
	p.mu.Lock()
	n := len(p.idle)
	if n > 0 {
		i := n - 1
		if prefer != 0 {
			for j := n - 1; j >= 0; j-- {
				if p.idle[j].id == prefer {
					i = j
					break
				}
			}
		}
		st := p.idle[i]
		copy(p.idle[i:], p.idle[i+1:])
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return st
	}
	p.mu.Unlock()
	p.created.Add(1)
	return p.rt.newThread()
}

// release returns a thread taken with get, and its slot; a broken
// thread, or one over the pool's size, is closed instead of kept. The
// slot goes last: a caller waiting for it then finds the thread idle
// instead of making another.
func (p *pool) release(st *State) {
	p.inUse.Add(-1)
	slot := st.slot
	st.slot = false
	p.mu.Lock()
	if st.broken || p.closed || len(p.idle) >= p.size {
		st.discard()
	} else {
		p.idle = append(p.idle, st)
	}
	p.mu.Unlock()
	if slot {
		p.freeSlot()
	}
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	return PoolStats{Idle: idle, InUse: p.inUse.Load(), Created: p.created.Load(), Max: cap(p.slots)}
}

func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.closed, p.idle = true, nil
	p.mu.Unlock()
	for _, st := range idle {
		st.discard()
	}
}
