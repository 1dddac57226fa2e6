package dns

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		c := f.calls["k"]
		joined := c != nil && c.waiters == n-1
		f.mu.Unlock()
		if joined {
			break
		}
		if time.Now().After(end) {
			t.Fatal("callers did not join the running call")
		}
	}
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
	for {
		f.mu.Lock()
		running := f.calls["k"] != nil
		f.mu.Unlock()
		if running {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.do(ctx, "k", nil)
	if le, ok := err.(*LookupError); !ok || le.Status != StatusCanceled {
		t.Errorf("got %v, want canceled", err)
	}
}
