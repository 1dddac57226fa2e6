// Package poll waits in tests for a condition that another goroutine or
// process brings about, such as a log line or a reload.
package poll

import (
	"testing"
	"time"
)

// Interval is how often Until checks the condition.
const Interval = 10 * time.Millisecond

// Until checks cond every Interval until it holds, and fails t with
// "timed out waiting for <what>" if it still does not hold after within.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(Interval)
	}
}
