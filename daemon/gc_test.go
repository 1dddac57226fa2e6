package daemon

import (
	"log/slog"
	"runtime/debug"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{4 * mib, 8 * mib, 200},            // goal 12 MiB: live + headroom
		{8 * mib, 24 * mib, 300},           // a smaller share of the heap, a larger percentage
		{10 * mib, 25 * mib, 250},          // between the bounds
		{64 * mib, 8 * mib, gcMinPercent},  // never below Go's default
		{2 * mib, 0, gcMinPercent},         // no headroom: Go's default
		{100 << 10, 8 * mib, gcMaxPercent}, // nor above the cap for a nearly empty heap
		{0, 8 * mib, gcMinPercent},         // before the first collection
	} {
		if got := gcPercentFor(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercentFor(%d, %d) = %d, want %d", c.live, c.headroom, got, c.want)
		}
	}
}

// TestGCTunerRestoresTheRuntime checks that the tuner sets a percentage
// and the soft memory limit from the config and gives back what was there
// when it stops.
func TestGCTunerRestoresTheRuntime(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	cfg := Default()
	cfg.GCHeadroom, cfg.MemoryLimit = 8<<20, 512<<20
	tu := startGCTuner(cfg, slog.New(slog.DiscardHandler))
	if got := debug.SetMemoryLimit(-1); got != 512<<20 {
		t.Errorf("soft memory limit %d, want memory_limit", got)
	}
	if p := debug.SetGCPercent(-1); p == -1 {
		t.Errorf("the collector was turned off")
	} else {
		debug.SetGCPercent(p)
	}
	tu.close()
	tu.close() // a second close is harmless
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("percentage after close %d, want 100 back", p)
	}
}
