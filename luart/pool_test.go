package luart

import (
	"context"
	"testing"
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
