package lstd

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// GCThrottle limits how often scripts can force a Go garbage collection
// through collectgarbage. Lua states share the Go heap, so one throttle is
// meant to be shared by every state in the process (see Limits.GC).
type GCThrottle struct {
	interval time.Duration
	last     atomic.Int64 // UnixNano of the last collection started
	running  atomic.Bool
}

// NewGCThrottle returns a throttle allowing at most one collection per
// interval.
func NewGCThrottle(interval time.Duration) *GCThrottle {
	return &GCThrottle{interval: interval}
}

// Collect starts a garbage collection in the background unless one ran
// less than the interval ago or is still running. It reports whether a
// collection was started; the caller never waits for it.
func (t *GCThrottle) Collect() bool {
	now := time.Now().UnixNano()
	last := t.last.Load()
	if now-last < int64(t.interval) || !t.last.CompareAndSwap(last, now) {
		return false
	}
	if !t.running.CompareAndSwap(false, true) {
		return false
	}
	go func() {
		defer t.running.Store(false)
		runtime.GC()
	}()
	return true
}

const heapLiveMetric = "/gc/heap/live:bytes"

// HeapKiB returns the live Go heap in KiB as of the last collection, a
// process-wide figure that is cheap to read (no stop-the-world), used for
// collectgarbage("count") and gcinfo().
func HeapKiB() float64 {
	s := []metrics.Sample{{Name: heapLiveMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return float64(s[0].Value.Uint64()) / 1024
}

// gcState is collectgarbage for one Lua state; the pause and step
// multiplier are remembered only to return them as Lua 5.1 does.
type gcState struct {
	throttle       *GCThrottle
	pause, stepmul int
}

var gcOptions = []string{"stop", "restart", "collect", "count", "step", "setpause", "setstepmul"}

func (g *gcState) collectGarbage(L *lua.LState) int {
	opt := optString(L, 1, "collectgarbage", "collect")
	known := false
	for _, o := range gcOptions {
		known = known || o == opt
	}
	if !known {
		argError(L, 1, "collectgarbage", "invalid option '"+opt+"'")
	}
	ex := optInt(L, 2, "collectgarbage", 0)
	switch opt {
	case "count":
		L.Push(lua.LNumber(HeapKiB()))
	case "step":
		L.Push(lua.LBool(g.throttle.Collect()))
	case "collect":
		g.throttle.Collect()
		L.Push(lua.LNumber(0))
	case "setpause":
		L.Push(lua.LNumber(g.pause))
		g.pause = ex
	case "setstepmul":
		L.Push(lua.LNumber(g.stepmul))
		g.stepmul = ex
	default:
		L.Push(lua.LNumber(0))
	}
	return 1
}

func gcInfo(L *lua.LState) int {
	L.Push(lua.LNumber(int64(HeapKiB())))
	return 1
}
