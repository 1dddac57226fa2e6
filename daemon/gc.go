package daemon

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync"
	"time"
)

// The collector's pace. luamilter's live heap is small (a few MiB: the
// connections' buffers, the Lua state) while it allocates fast (every
// milter packet go-milter reads is a new buffer), so with Go's default
// GOGC=100 the collector runs many times a second for little garbage
// each time. gcTuner lets the heap grow a fixed headroom (gc_headroom)
// past the live heap before a collection instead of a fixed percentage
// of it: a few MiB more memory for far fewer collections, whatever the
// live heap is at the load of the moment. memory_limit, the memory
// brake's limit, is also given to Go as its soft memory limit, so the
// collector works harder as the heap nears the point where the brake
// stops scripts. GOGC and GOMEMLIMIT in the environment win.

// gcTunePeriod is how often the live heap is looked at: it moves with the
// number of open sessions, slowly next to the collector's cycles.
const gcTunePeriod = time.Second

// GC percentages the tuner stays within: at least Go's default, and at
// most 400, since Go never lets the heap goal fall below 4 MiB × the
// percentage / 100: a higher one would hold a nearly empty heap at tens
// of MiB.
const (
	gcMinPercent = 100
	gcMaxPercent = 400
)

// gcTuner sets the collector's percentage from the live heap.
type gcTuner struct {
	headroom    uint64
	prevPercent int
	prevLimit   int64
	tuning      bool // the percentage is ours (GOGC unset, headroom > 0)
	limiting    bool // the soft memory limit is ours
	stop        chan struct{}
	done        chan struct{}
	closeOnce   sync.Once
	sample      []rtmetrics.Sample
}

// startGCTuner applies cfg's gc_headroom and memory_limit to the Go
// runtime; stop undoes it.
func startGCTuner(cfg Config, log *slog.Logger) *gcTuner {
	t := &gcTuner{headroom: uint64(cfg.GCHeadroom), stop: make(chan struct{}), done: make(chan struct{}),
		sample: []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	if cfg.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		t.prevLimit = debug.SetMemoryLimit(cfg.MemoryLimit)
		t.limiting = true
	}
	if cfg.GCHeadroom > 0 && os.Getenv("GOGC") == "" {
		t.tuning = true
		t.prevPercent = debug.SetGCPercent(t.percent())
		go t.run()
	} else {
		close(t.done)
	}
	log.Debug("garbage collector", "gc_headroom", cfg.GCHeadroom, "tuned", t.tuning, "soft_memory_limit", t.limiting)
	return t
}

func (t *gcTuner) run() {
	defer close(t.done)
	tick := time.NewTicker(gcTunePeriod)
	defer tick.Stop()
	last := -1
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			// Setting the same value again would still take the heap
			// lock; small moves don't matter.
			if p := t.percent(); last < 0 || p < last*9/10 || p > last*11/10 {
				debug.SetGCPercent(p)
				last = p
			}
		}
	}
}

// percent is the GC percentage whose heap goal is the live heap plus the
// headroom.
func (t *gcTuner) percent() int {
	rtmetrics.Read(t.sample)
	live := uint64(0)
	if t.sample[0].Value.Kind() == rtmetrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	return gcPercentFor(live, t.headroom)
}

// gcPercentFor is the percentage that makes the heap goal live +
// headroom, within gcMinPercent and gcMaxPercent.
func gcPercentFor(live, headroom uint64) int {
	if live == 0 { // no collection yet: Go's own pace until one
		return gcMinPercent
	}
	p := float64(headroom) * 100 / float64(live)
	return int(math.Max(gcMinPercent, math.Min(gcMaxPercent, p)))
}

// close stops the tuner and gives the runtime back its settings.
func (t *gcTuner) close() {
	if t == nil {
		return
	}
	t.closeOnce.Do(func() {
		close(t.stop)
		<-t.done
		if t.tuning {
			debug.SetGCPercent(t.prevPercent)
		}
		if t.limiting {
			debug.SetMemoryLimit(t.prevLimit)
		}
	})
}
