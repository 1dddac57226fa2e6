package storetest

import (
	"testing"
	"time"

	"github.com/luamilter/luamilter/modules/store"
)

// Backend opens a fresh shared store of one kind.
type Backend struct {
	Name string
	New  func(t testing.TB, clk *Clock) *store.Shared
}

// Backends lists the in-process store and Redis (a new redis-server per
// store, failing closed so errors surface in tests).
func Backends() []Backend {
	return []Backend{
		{"memory", func(t testing.TB, clk *Clock) *store.Shared {
			sh, err := store.New(store.Config{Now: clk.Now, FailMode: store.FailClosed}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return sh
		}},
		{"redis", func(t testing.TB, clk *Clock) *store.Shared {
			srv := StartRedis(t)
			sh, err := store.New(store.Config{Backend: store.BackendRedis, Addrs: []string{srv.Addr},
				Now: clk.Now, FailMode: store.FailClosed, Timeout: time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sh.Close() })
			return sh
		}},
	}
}
