package luart

import (
	"context"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/poll"
)

// TestPoolHandsOutTheLastOrTheAskedState checks the pool's order: the
// State given back last comes out first, and AcquireAgain gets the State
// asked for when it is idle, so a session's commands keep one State at
// low load.
func TestPoolHandsOutTheLastOrTheAskedState(t *testing.T) {
	rt := testRuntime(t, `msys.registerModule("p", {})`, Config{PoolSize: 3})
	poll.Until(t, 10*time.Second, "the pool warmed up", func() bool { return rt.PoolStats().Idle == 3 })
	ctx := context.Background()
	var held []*State
	for range 3 {
		st, err := rt.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, st)
	}
	for _, st := range held {
		rt.Release(st)
	}
	top, err := rt.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if top != held[2] {
		t.Errorf("Acquire gave State %d, want the last one given back, %d", top.ID(), held[2].ID())
	}
	rt.Release(top)
	again, err := rt.AcquireAgain(ctx, held[0].ID())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(again)
	if again != held[0] {
		t.Errorf("AcquireAgain(%d) gave State %d", held[0].ID(), again.ID())
	}
	if n := rt.PoolStats().Created; n != 3 {
		t.Errorf("%d States built, want the 3 of the pool", n)
	}
}
