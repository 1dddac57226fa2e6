package luart

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// PoolStats describes a Runtime's State pool at one moment, for metrics.
type PoolStats struct {
	Idle    int    // warm States waiting for a session
	InUse   int64  // States held by sessions, init or deinit now
	Created uint64 // States built since the Runtime was made
}

// pool keeps warm States. States are built in the background so a new
// session rarely pays for compiling and running the scripts. Idle States
// form a stack: the State given back last is handed out first, and a
// caller may ask for a particular one (see get), so that at low load a
// session's commands keep running in the same State.
type pool struct {
	rt     *Runtime
	size   int
	mu     sync.Mutex
	idle   []*State
	closed bool

	inUse    atomic.Int64
	created  atomic.Uint64
	building atomic.Int64 // States being built by get
}

func newPool(rt *Runtime, size int) *pool {
	p := &pool{rt: rt, size: size, idle: make([]*State, 0, size)}
	go p.warm(size - 1)
	return p
}

// warm builds n States in the background; it stops early when the pool
// is closed, as a replaced generation's States would only be thrown away.
func (p *pool) warm(n int) {
	for i := 0; i < n && !p.isClosed(); i++ {
		st, err := p.rt.newState()
		if err != nil {
			p.rt.cfg.Log.Error("warm up Lua state", "err", err)
			return
		}
		p.created.Add(1)
		p.put(st)
	}
}

// take removes an idle State from the stack: the one numbered prefer if
// it is there, otherwise the top one. It returns nil when none is idle.
func (p *pool) take(prefer uint64) *State {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
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
	return st
}

// get takes an idle State (the one numbered prefer if it is idle) or
// builds one. When enough States are being built already, it waits a
// little for one to come back before building another: a burst of new
// sessions would otherwise build a State each, tens of megabytes that are
// closed again a moment later, since a State is held only while a
// callout runs.
func (p *pool) get(ctx context.Context, prefer uint64) (*State, error) {
	for {
		if st := p.take(prefer); st != nil {
			p.inUse.Add(1)
			return st, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.building.Add(1) <= int64(runtime.GOMAXPROCS(0)) {
			st, err := p.rt.newState()
			p.building.Add(-1)
			if err != nil {
				return nil, err
			}
			p.created.Add(1)
			p.inUse.Add(1)
			return st, nil
		}
		p.building.Add(-1)
		wait := time.NewTimer(buildWait)
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return nil, ctx.Err()
		}
	}
}

// buildWait is how long get waits before it looks again for a State
// given back, or whether it may build one. It is short next to a callout
// that blocks (DNS, HTTP), so the pool still grows to meet those.
const buildWait = 2 * time.Millisecond

// release returns a State taken with get.
func (p *pool) release(st *State) {
	if st == nil {
		return
	}
	p.inUse.Add(-1)
	p.put(st)
}

// releaseClean returns a State taken with get that Clean just approved.
func (p *pool) releaseClean(st *State) {
	p.inUse.Add(-1)
	st.clear()
	p.keep(st)
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	return PoolStats{Idle: idle, InUse: p.inUse.Load(), Created: p.created.Load()}
}

func (p *pool) put(st *State) {
	if st == nil {
		return
	}
	if !st.reset() {
		st.Close()
		return
	}
	p.keep(st)
}

// keep parks a reset State as idle, or closes it if the pool is closed
// or full.
func (p *pool) keep(st *State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle) >= p.size {
		st.Close()
		return
	}
	p.idle = append(p.idle, st)
}

func (p *pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.closed, p.idle = true, nil
	p.mu.Unlock()
	for _, st := range idle {
		st.Close()
	}
}
