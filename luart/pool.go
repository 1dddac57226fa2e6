package luart

import (
	"context"
	"sync"
)

// pool keeps warm States. States are built in the background so a new
// session rarely pays for compiling and running the scripts.
type pool struct {
	rt     *Runtime
	idle   chan *State
	mu     sync.Mutex
	closed bool
}

func newPool(rt *Runtime, size int) *pool {
	p := &pool{rt: rt, idle: make(chan *State, size)}
	go p.warm(size - 1)
	return p
}

func (p *pool) warm(n int) {
	for i := 0; i < n; i++ {
		st, err := p.rt.newState()
		if err != nil {
			p.rt.log.Error("warm up Lua state", "err", err)
			return
		}
		p.put(st)
	}
}

func (p *pool) get(ctx context.Context) (*State, error) {
	select {
	case st := <-p.idle:
		return st, nil
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return p.rt.newState()
}

func (p *pool) put(st *State) {
	if st == nil {
		return
	}
	if !st.reset() {
		st.Close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		st.Close()
		return
	}
	select {
	case p.idle <- st:
	default:
		st.Close()
	}
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case st := <-p.idle:
			st.Close()
		default:
			return
		}
	}
}
