package luart

import (
	"sync"
	"sync/atomic"
)

// PoolStats describes a Runtime's threads at one moment, for metrics.
type PoolStats struct {
	Idle    int    // threads kept for reuse
	InUse   int64  // threads held by sessions, init, deinit or the scheduler now
	Created uint64 // threads made since the Runtime was made
}

// pool keeps idle threads for reuse. A thread is a stack and a call
// stack on the generation's state, a few kilobytes, so none are made
// ahead. Idle threads form a stack: the one given back last is handed
// out first, and a caller may ask for a particular one (see get), so
// that a session finds the _OSTLS it left.
type pool struct {
	rt     *Runtime
	size   int
	mu     sync.Mutex
	idle   []*State
	closed bool

	inUse   atomic.Int64
	created atomic.Uint64
}

func newPool(rt *Runtime, size int) *pool {
	return &pool{rt: rt, size: size, idle: make([]*State, 0, size)}
}

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

// release returns a thread taken with get; a broken one, or one over the
// pool's size, is closed instead.
func (p *pool) release(st *State) {
	p.inUse.Add(-1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if st.broken || p.closed || len(p.idle) >= p.size {
		st.discard()
		return
	}
	p.idle = append(p.idle, st)
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	return PoolStats{Idle: idle, InUse: p.inUse.Load(), Created: p.created.Load()}
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
