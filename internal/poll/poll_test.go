package poll

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	tests := []struct {
		name   string
		trueAt int32 // the call on which cond first holds
	}{
		{"holds at once", 1},
		{"holds later", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			Until(t, time.Minute, tc.name, func() bool { return calls.Add(1) >= tc.trueAt })
			if got := calls.Load(); got != tc.trueAt {
				t.Errorf("cond called %d times, want %d", got, tc.trueAt)
			}
		})
	}
}

// recorder is a testing.TB whose Fatalf records the message and ends the
// goroutine, as the real one does.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestUntilTimesOut(t *testing.T) {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Until(r, 3*Interval, "godot", func() bool { return false })
	}()
	<-done
	if r.msg != "timed out waiting for godot" {
		t.Errorf("failure %q", r.msg)
	}
}
