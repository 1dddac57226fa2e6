package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luamilter/luamilter/modules/store"
	"github.com/luamilter/luamilter/modules/store/storetest"
)

// backend builds a fresh store for one scenario.
type backend struct {
	name string
	// open returns n clients of one fresh store.
	opens func(t *testing.T, clk *storetest.Clock, n int) []store.Store
}

func (b backend) open(t *testing.T, clk *storetest.Clock) store.Store { return b.opens(t, clk, 1)[0] }

func backends(t *testing.T) []backend {
	return []backend{
		{"memory", func(t *testing.T, clk *storetest.Clock, n int) []store.Store {
			s := store.NewMemory(store.Config{Now: clk.Now})
			out := make([]store.Store, n)
			for i := range out {
				out[i] = s // one process, one store
			}
			return out
		}},
		redisBackend("redis", func(t *testing.T) store.Config {
			return store.Config{Addrs: []string{storetest.StartRedis(t).Addr}}
		}),
		redisBackend("cluster", func(t *testing.T) store.Config {
			return store.Config{Addrs: []string{storetest.StartCluster(t).Addr}, Cluster: true}
		}),
		redisBackend("sentinel", func(t *testing.T) store.Config {
			master := storetest.StartRedis(t)
			return store.Config{Addrs: []string{storetest.StartSentinel(t, master, "mymaster").Addr}, MasterName: "mymaster"}
		}),
	}
}

// redisBackend opens n clients on the Redis setup cfg starts.
func redisBackend(name string, setup func(t *testing.T) store.Config) backend {
	return backend{name, func(t *testing.T, clk *storetest.Clock, n int) []store.Store {
		cfg := setup(t)
		cfg.Backend, cfg.Now, cfg.Timeout = store.BackendRedis, clk.Now, time.Second
		out := make([]store.Store, n)
		for i := range out {
			s, err := store.NewRedis(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out
	}}
}

var win = store.Window{Interval: time.Minute, Windows: 3}

// step is one operation of a scenario and, unless noCheck, the value it must return.
type step struct {
	op      string // add, count, addcount, remove, advance, gauge, gget, gremove, cadd, cget, creset, cdel
	key     string
	n       int64
	lo, hi  int
	want    int64
	noCheck bool
}

func TestScenarios(t *testing.T) {
	g := store.Gauge{MaxElems: 10, TTL: time.Hour}
	scenarios := []struct {
		name  string
		steps []step
	}{
		{"add then count", []step{
			{op: "add", key: "a", n: 3}, {op: "add", key: "a", n: 2}, {op: "count", key: "a", want: 5},
			{op: "count", key: "b", want: 0}, {op: "add", key: "a", n: -1}, {op: "count", key: "a", want: 4},
		}},
		{"windows roll", []step{
			{op: "add", key: "a", n: 2}, {op: "advance", n: 1}, {op: "add", key: "a", n: 5},
			{op: "count", key: "a", want: 5}, {op: "count", key: "a", hi: 1, want: 7},
			{op: "count", key: "a", lo: 1, hi: 1, want: 2}, {op: "count", key: "a", lo: 1, hi: 0, want: 7},
			{op: "count", key: "a", hi: 99, want: 7}, {op: "advance", n: 2},
			{op: "count", key: "a", hi: 2, want: 5}, {op: "advance", n: 1}, {op: "count", key: "a", hi: 2, want: 0},
		}},
		{"add and count", []step{
			{op: "addcount", key: "k", n: 1, want: 1}, {op: "advance", n: 1},
			{op: "addcount", key: "k", n: 1, want: 1}, {op: "addcount", key: "k", n: 1, hi: 2, want: 3},
		}},
		{"remove item", []step{
			{op: "add", key: "a", n: 2}, {op: "advance", n: 1}, {op: "add", key: "a", n: 2},
			{op: "remove", key: "a"}, {op: "count", key: "a", hi: 2, want: 0},
		}},
		{"gauges", []step{
			{op: "gauge", key: "x", n: 1, want: 1}, {op: "gauge", key: "x", n: 1, want: 2},
			{op: "gauge", key: "x", n: -1, want: 1}, {op: "gget", key: "x", want: 1},
			{op: "gauge", key: "x", n: -5, want: 0}, {op: "gget", key: "x", want: 0},
			{op: "gauge", key: "y", n: -1, want: 0}, {op: "gauge", key: "y", n: 3, want: 3},
			{op: "gremove", key: "y"}, {op: "gget", key: "y", want: 0},
		}},
		{"counters", []step{
			{op: "cget", key: "/site/a", want: 0}, {op: "cadd", key: "/site/a", n: 1, want: 1},
			{op: "cadd", key: "/site/a", n: 1024, want: 1025}, {op: "creset", key: "/site/a"},
			{op: "cget", key: "/site/a", want: 0}, {op: "cadd", key: "/site/a", n: 2, want: 2},
			{op: "cdel", key: "/site/a"}, {op: "cget", key: "/site/a", want: 0},
		}},
	}
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			clk := storetest.NewClock()
			s := be.open(t, clk)
			ctx := context.Background()
			for i, sc := range scenarios {
				series := "s" + string(rune('a'+i))
				t.Run(sc.name, func(t *testing.T) {
					for j, st := range sc.steps {
						var got int64
						var err error
						switch st.op {
						case "add":
							err = s.AddWindowed(ctx, series, st.key, st.n, win)
							st.noCheck = true
						case "count":
							got, err = s.CountWindowed(ctx, series, st.key, win, st.lo, st.hi)
						case "addcount":
							got, err = s.AddAndCount(ctx, series, st.key, st.n, win, st.lo, st.hi)
						case "remove":
							err = s.RemoveWindowed(ctx, series, st.key, win)
							st.noCheck = true
						case "advance":
							clk.Advance(time.Duration(st.n) * win.Interval)
							st.noCheck = true
						case "gauge":
							got, err = s.GaugeAdd(ctx, series, st.key, st.n, g)
						case "gget":
							got, err = s.GaugeGet(ctx, series, st.key)
						case "gremove":
							err = s.GaugeRemove(ctx, series, st.key)
							st.noCheck = true
						case "cadd":
							got, err = s.CounterAdd(ctx, series+st.key, st.n)
						case "cget":
							got, err = s.CounterGet(ctx, series+st.key)
						case "creset":
							err = s.CounterReset(ctx, series+st.key)
							st.noCheck = true
						case "cdel":
							err = s.CounterDelete(ctx, series+st.key)
							st.noCheck = true
						default:
							t.Fatalf("unknown op %q", st.op)
						}
						if err != nil {
							t.Fatalf("step %d %s: %v", j, st.op, err)
						}
						if !st.noCheck && got != st.want {
							t.Fatalf("step %d %s(%s, %d..%d) = %d, want %d", j, st.op, st.key, st.lo, st.hi, got, st.want)
						}
					}
				})
			}
		})
	}
}

func TestBadWindow(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			s := be.open(t, storetest.NewClock())
			for _, w := range []store.Window{{Interval: 0, Windows: 1}, {Interval: time.Minute, Windows: 0}, {Interval: time.Minute, Windows: store.MaxWindows + 1}} {
				if err := s.AddWindowed(context.Background(), "s", "k", 1, w); err == nil {
					t.Errorf("AddWindowed with %+v: no error", w)
				}
			}
		})
	}
}

// TestAtomicLimit has 50 goroutines on two store clients race to add to one
// key under a limit: exactly limit of them must see a count within it.
func TestAtomicLimit(t *testing.T) {
	const workers, limit = 50, 10
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			clk := storetest.NewClock()
			clients := be.opens(t, clk, 2)
			a, b := clients[0], clients[1]
			var within atomic.Int64
			var wg sync.WaitGroup
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := a
					if i%2 == 1 {
						s = b
					}
					n, err := s.AddAndCount(context.Background(), "limit", "k", 1, win, 0, 0)
					if err != nil {
						t.Error(err)
						return
					}
					if n <= limit {
						within.Add(1)
					}
				}()
			}
			wg.Wait()
			if got := within.Load(); got != limit {
				t.Fatalf("%d adders saw a count within %d, want exactly %d", got, limit, limit)
			}
		})
	}
}
