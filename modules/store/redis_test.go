package store_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/luamilter/luamilter/modules/store"
	"github.com/luamilter/luamilter/modules/store/storetest"
)

const faultTimeout = 200 * time.Millisecond

// ops are the store calls a script can trigger.
var ops = []struct {
	name string
	run  func(s store.Store) error
}{
	{"add", func(s store.Store) error { return s.AddWindowed(context.Background(), "f", "k", 1, win) }},
	{"count", func(s store.Store) error {
		_, err := s.CountWindowed(context.Background(), "f", "k", win, 0, 2)
		return err
	}},
	{"addcount", func(s store.Store) error {
		_, err := s.AddAndCount(context.Background(), "f", "k", 1, win, 0, 0)
		return err
	}},
	{"gauge", func(s store.Store) error {
		_, err := s.GaugeAdd(context.Background(), "g", "k", 1, store.Gauge{TTL: time.Minute})
		return err
	}},
	{"counter", func(s store.Store) error { _, err := s.CounterAdd(context.Background(), "/c", 1); return err }},
}

// checkDown runs every op against an unreachable store and checks each
// returns promptly with the error the fail mode asks for.
func checkDown(t *testing.T, sh *store.Shared, failOpen bool) {
	t.Helper()
	for _, op := range ops {
		start := time.Now()
		err := op.run(sh)
		// A hang guard, not a speed check: the bound is generous.
		if d := time.Since(start); d > faultTimeout+time.Second {
			t.Errorf("%s took %v with the server down (timeout %v)", op.name, d, faultTimeout)
		}
		if !store.IsUnavailable(err) {
			t.Errorf("%s with the server down: err = %v, want an UnavailableError", op.name, err)
		}
		lerr := sh.Check("msys.audit_series", err)
		if failOpen && lerr != nil {
			t.Errorf("%s: fail-open Check = %v, want nil", op.name, lerr)
		}
		if !failOpen && (lerr == nil || !strings.HasPrefix(lerr.Error(), "msys.audit_series: store unavailable: ")) {
			t.Errorf("%s: fail-closed Check = %v, want a store unavailable error", op.name, lerr)
		}
	}
}

func TestRedisFault(t *testing.T) {
	for _, mode := range []string{store.FailOpen, store.FailClosed} {
		t.Run(mode, func(t *testing.T) {
			srv := storetest.StartRedis(t)
			clk := storetest.NewClock()
			sh, err := store.New(store.Config{Backend: "redis", Addrs: []string{srv.Addr}, Timeout: faultTimeout, FailMode: mode, Now: clk.Now}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sh.Close()
			ctx := context.Background()
			if n, err := sh.AddAndCount(ctx, "f", "k", 1, win, 0, 0); err != nil || n != 1 {
				t.Fatalf("before the fault: count %d, %v", n, err)
			}
			srv.Kill()
			checkDown(t, sh, mode == store.FailOpen)
			srv.Start()
			var n int64
			for range 5 { // the first call may still meet a connection from before the restart
				if n, err = sh.AddAndCount(ctx, "f", "k", 1, win, 0, 0); err == nil {
					break
				}
			}
			if err != nil || n != 1 {
				t.Fatalf("after restart: count %d, %v; want 1 (the restarted server keeps no data)", n, err)
			}
		})
	}
}

// TestRedisSlow points the store at a server that accepts connections and
// never answers.
func TestRedisSlow(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	sh, err := store.New(store.Config{Backend: "redis", Addrs: []string{l.Addr().String()}, Timeout: faultTimeout, FailMode: store.FailClosed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	checkDown(t, sh, false)
}

// TestRedisKeysExpire checks that window buckets and gauges carry a TTL so
// Redis drops them by itself, while counters persist.
func TestRedisKeysExpire(t *testing.T) {
	srv := storetest.StartRedis(t)
	s, err := store.NewRedis(store.Config{Addrs: []string{srv.Addr}, KeyPrefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, op := range ops {
		if err := op.run(s); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
	}
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	ctx := context.Background()
	keys, err := raw.Keys(ctx, "t:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys = %v, want a bucket, a gauge and a counter", keys)
	}
	for _, k := range keys {
		ttl, err := raw.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		counter := strings.HasPrefix(k, "t:counter:")
		if counter && ttl >= 0 || !counter && ttl <= 0 {
			t.Errorf("key %s has TTL %v", k, ttl)
		}
		if !strings.Contains(k, "{") {
			t.Errorf("key %s has no hash tag", k)
		}
	}
}

func BenchmarkAddAndCount(b *testing.B) {
	srv := storetest.StartRedis(b)
	r, err := store.NewRedis(store.Config{Addrs: []string{srv.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	w := store.Window{Interval: time.Minute, Windows: 5}
	for _, s := range []struct {
		name string
		s    store.Store
	}{{"memory", store.NewMemory(store.Config{})}, {"redis", r}} {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.s.AddAndCount(context.Background(), "bench", "k", 1, w, 0, 4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
