package dns

import (
	"context"
	"testing"
	"time"
)

// TestLookupBudget: a lookup leaves the calling script a tenth of what
// is left of its deadline, at least MinScriptMargin, and never takes
// longer than the resolver's own timeout.
func TestLookupBudget(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		left    time.Duration // until the caller's deadline; 0: none
		timeout time.Duration
		want    time.Duration
	}{
		{"no deadline", 0, 5 * time.Second, 5 * time.Second},
		{"script timeout shorter", 2 * time.Second, 5 * time.Second, 1800 * time.Millisecond},
		{"resolver timeout shorter", 10 * time.Second, time.Second, time.Second},
		{"small budget keeps the minimum margin", 500 * time.Millisecond, 5 * time.Second, 400 * time.Millisecond},
		{"a tenth above the minimum", 1100 * time.Millisecond, 5 * time.Second, 990 * time.Millisecond},
		{"nothing left", 50 * time.Millisecond, 5 * time.Second, -50 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.left > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tc.left))
				defer cancel()
			}
			if got := lookupBudget(ctx, tc.timeout, now); got != tc.want {
				t.Fatalf("budget %v, want %v", got, tc.want)
			}
		})
	}
}
