package luart

import (
	"context"
	"testing"
	"time"
)

// TestPoolHandsOutTheLastOrTheAskedThread checks the pool's order: the
// thread given back last comes out first, and AcquireAgain gets the
// thread asked for when it is idle, with the _OSTLS it left there.
func TestPoolHandsOutTheLastOrTheAskedThread(t *testing.T) {
	rt := testRuntime(t, `msys.registerModule("p", {})`, Config{PoolSize: 3})
	ctx := context.Background()
	var held []*State
	for range 3 {
		held = append(held, rt.Thread())
	}
	for _, st := range held {
		rt.Release(st)
	}
	top, err := rt.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if top != held[2] {
		t.Errorf("Acquire gave thread %d, want the last one given back, %d", top.ID(), held[2].ID())
	}
	runChunk(t, top, `_OSTLS.mark = "left here"`)
	rt.Release(top)
	again, err := rt.AcquireAgain(ctx, held[0].ID())
	if err != nil {
		t.Fatal(err)
	}
	if again != held[0] {
		t.Errorf("AcquireAgain(%d) gave thread %d", held[0].ID(), again.ID())
	}
	rt.Release(again)
	back, err := rt.AcquireAgain(ctx, held[2].ID())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(back)
	if got := runChunk(t, back, `return tostring(_OSTLS.mark)`); got != "left here" {
		t.Errorf("_OSTLS on the thread again: %q", got)
	}
	if n := rt.PoolStats().Created; n != 3 {
		t.Errorf("%d threads made, want 3", n)
	}
}

// TestPoolBoundsThreadsInUse holds every thread the bound allows, as
// sessions waiting in a library call do (without the lock), and checks
// that the next caller waits, counted, instead of getting a new thread,
// and gets one as soon as one is given back.
func TestPoolBoundsThreadsInUse(t *testing.T) {
	waits := &ThreadWaits{}
	rt := testRuntime(t, `msys.registerModule("p", {})`, Config{MaxThreads: 2, Waits: waits})
	ctx := context.Background()
	var held []*State
	for range 2 {
		st, err := rt.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.Leave() // as Blocking does: the lock goes, the thread stays
		held = append(held, st)
	}
	got := make(chan *State)
	go func() {
		st, err := rt.Acquire(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- st
	}()
	deadline := time.Now().Add(5 * time.Second)
	for waits.Count() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if waits.Count() != 1 {
		t.Fatalf("waits = %d, want 1 while every thread is taken", waits.Count())
	}
	select {
	case st := <-got:
		t.Fatalf("Acquire gave thread %d over the bound", st.ID())
	case <-time.After(20 * time.Millisecond):
	}
	// The waiter let go of the lock: the holders can still come back.
	if err := held[0].Enter(ctx); err != nil {
		t.Fatal(err)
	}
	rt.Release(held[0])
	st := <-got
	if st != held[0] {
		t.Errorf("the waiter got thread %d, want the one given back, %d", st.ID(), held[0].ID())
	}
	rt.Release(st)
	rt.Release(held[1])
	if s := rt.PoolStats(); s.Created != 2 || s.Max != 2 || s.InUse != 0 {
		t.Errorf("stats %+v, want 2 created, max 2, none in use", s)
	}
	if waits.Time() <= 0 {
		t.Errorf("wait time %v, want > 0", waits.Time())
	}
}

// TestPoolWaitEndsWithTheContext checks that a caller waiting for a
// thread gives up when its context ends, holding neither a slot nor the
// lock.
func TestPoolWaitEndsWithTheContext(t *testing.T) {
	rt := testRuntime(t, `msys.registerModule("p", {})`, Config{MaxThreads: 1})
	a, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.Leave()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if st, err := rt.Acquire(ctx); err == nil {
		t.Fatalf("Acquire over the bound gave thread %d", st.ID())
	}
	rt.Release(a)
	b, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rt.Release(b)
	if n := rt.PoolStats().InUse; n != 0 {
		t.Errorf("%d threads in use after the failed wait", n)
	}
}

// TestPoolWaiterGetsTheThreadGivenBack has sessions take turns on a bound
// of one thread: a caller that waited for the slot must find the thread
// given back idle, not make a new one, however the two interleave.
func TestPoolWaiterGetsTheThreadGivenBack(t *testing.T) {
	for _, tc := range []struct {
		name          string
		maxThreads    int
		workers, iter int
	}{
		{"one thread, two sessions", 1, 2, 2000},
		{"two threads, four sessions", 2, 4, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := testRuntime(t, `msys.registerModule("p", {})`, Config{MaxThreads: tc.maxThreads, PoolSize: tc.maxThreads})
			done := make(chan struct{})
			for range tc.workers {
				go func() {
					defer func() { done <- struct{}{} }()
					for range tc.iter {
						st, err := rt.Acquire(context.Background())
						if err != nil {
							t.Error(err)
							return
						}
						rt.Release(st)
					}
				}()
			}
			for range tc.workers {
				<-done
			}
			if s := rt.PoolStats(); s.Created > uint64(tc.maxThreads) {
				t.Errorf("stats %+v: more threads made than the bound of %d ever lets be in use", s, tc.maxThreads)
			}
		})
	}
}
