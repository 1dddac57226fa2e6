package dns

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/poll"
)

func TestFlightCoalesces(t *testing.T) {
	var f flight
	var runs atomic.Int32
	release := make(chan struct{})
	fn := func() ([]Record, error) {
		runs.Add(1)
		<-release
		return []Record{{Value: "192.0.2.1"}}, nil
	}
	const n = 8
	var wg sync.WaitGroup
	results := make([][]Record, n)
	for i := range n {
		wg.Go(func() { results[i], _ = f.do(context.Background(), "k", fn) })
	}
	// Wait until one call runs and the other callers wait for it.
	poll.Until(t, 10*time.Second, "the callers to join the running call", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		c := f.calls["k"]
		return c != nil && c.waiters == n-1
	})
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("fn ran %d times, want 1", runs.Load())
	}
	for i, r := range results {
		if len(r) != 1 || r[0].Value != "192.0.2.1" {
			t.Errorf("caller %d got %v", i, r)
		}
	}
}

func TestFlightWaiterCanceled(t *testing.T) {
	var f flight
	release := make(chan struct{})
	defer close(release)
	go f.do(context.Background(), "k", func() ([]Record, error) { <-release; return nil, nil })
	poll.Until(t, 10*time.Second, "the first call to start", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.calls["k"] != nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.do(ctx, "k", nil)
	if le, ok := err.(*LookupError); !ok || le.Status != StatusCanceled {
		t.Errorf("got %v, want canceled", err)
	}
}
