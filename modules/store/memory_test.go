package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/luamilter/luamilter/modules/store"
	"github.com/luamilter/luamilter/modules/store/storetest"
)

func TestMemoryBounds(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name               string
		run                func(s *store.Memory, clk *storetest.Clock) error
		entries            int
		evictions, expired uint64
	}{
		{"series evicts least recently written", func(s *store.Memory, clk *storetest.Clock) error {
			for i := range 5 {
				if err := s.AddWindowed(ctx, "s", fmt.Sprint(i), 1, win); err != nil {
					return err
				}
			}
			if n, _ := s.CountWindowed(ctx, "s", "0", win, 0, 0); n != 0 {
				return fmt.Errorf("evicted key 0 still counts %d", n)
			}
			if n, _ := s.CountWindowed(ctx, "s", "4", win, 0, 0); n != 1 {
				return fmt.Errorf("key 4 counts %d, want 1", n)
			}
			return nil
		}, 3, 2, 0},
		{"old windows expire", func(s *store.Memory, clk *storetest.Clock) error {
			for i := range 3 {
				if err := s.AddWindowed(ctx, "s", fmt.Sprint(i), 1, win); err != nil {
					return err
				}
			}
			clk.Advance(time.Duration(win.Windows) * win.Interval)
			return s.AddWindowed(ctx, "s", "new", 1, win)
		}, 1, 0, 3},
		{"gauge cache keeps maxelems", func(s *store.Memory, clk *storetest.Clock) error {
			for i := range 4 {
				if _, err := s.GaugeAdd(ctx, "g", fmt.Sprint(i), 1, store.Gauge{MaxElems: 2, TTL: time.Minute}); err != nil {
					return err
				}
			}
			return nil
		}, 2, 2, 0},
		{"gauge ttl since last change", func(s *store.Memory, clk *storetest.Clock) error {
			g := store.Gauge{MaxElems: 10, TTL: time.Minute}
			s.GaugeAdd(ctx, "g", "a", 1, g)
			clk.Advance(50 * time.Second)
			s.GaugeAdd(ctx, "g", "a", 1, g)
			clk.Advance(50 * time.Second)
			if n, _ := s.GaugeGet(ctx, "g", "a"); n != 2 {
				return fmt.Errorf("gauge = %d after its last change 50s ago, want 2", n)
			}
			clk.Advance(10 * time.Second)
			if n, _ := s.GaugeGet(ctx, "g", "a"); n != 0 {
				return fmt.Errorf("gauge = %d a minute after its last change, want 0", n)
			}
			return nil
		}, 0, 0, 1},
		{"too many series", func(s *store.Memory, clk *storetest.Clock) error {
			for i := range 4 {
				s.AddWindowed(ctx, fmt.Sprint("s", i), "k", 1, win)
			}
			if err := s.AddWindowed(ctx, "one-too-many", "k", 1, win); err == nil {
				return fmt.Errorf("no error past MaxSeries")
			}
			return nil
		}, 4, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := storetest.NewClock()
			s := store.NewMemory(store.Config{MaxEntries: 3, MaxSeries: 4, Now: clk.Now})
			if err := tt.run(s, clk); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			if st.Entries != tt.entries || st.Evictions != tt.evictions || st.Expired != tt.expired {
				t.Fatalf("Stats() = %+v, want entries %d evictions %d expired %d", st, tt.entries, tt.evictions, tt.expired)
			}
		})
	}
}
