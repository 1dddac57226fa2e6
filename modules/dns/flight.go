package dns

import (
	"context"
	"slices"
	"sync"
)

// flight coalesces concurrent identical queries: when many sessions ask
// for the same uncached name at once (a busy client hitting an RBL check),
// one query goes to the network and the others wait for its answer.
type flight struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done    chan struct{}
	waiters int // callers sharing this call, guarded by flight.mu
	recs    []Record
	err     error
}

// do runs fn for key unless a call for key is already running, in which
// case it waits for that call's result (or for ctx to end).
func (f *flight) do(ctx context.Context, key string, fn func() ([]Record, error)) ([]Record, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*call{}
	}
	if c, ok := f.calls[key]; ok {
		c.waiters++
		f.mu.Unlock()
		select {
		case <-c.done:
			return slices.Clone(c.recs), c.err
		case <-ctx.Done():
			return nil, ctxError(ctx)
		}
	}
	c := &call{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.recs, c.err = fn()
	return c.recs, c.err
}
