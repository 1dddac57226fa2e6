package luart

import (
	"context"
	"errors"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// callScript has a callout that spins until its context stops it, one
// that returns at once and one that hands its context to Go.
const callScript = `local mod = {}
function mod:validate_connect() while true do end end
function mod:validate_ehlo() return 7 end
function mod:validate_mailfrom() keep() return 0 end
msys.registerModule("calls", mod)`

func callTestState(t *testing.T, timeout time.Duration) (*State, *Module) {
	t.Helper()
	rt := testRuntime(t, callScript, Config{Timeout: timeout, PoolSize: 1})
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Release(st) })
	return st, st.Modules[0]
}

// TestCallContextReuse checks the State's reused call context: deadlines
// stop each call, a cancelled caller stops the call, the next call starts
// clean, and a context kept after its call reports itself cancelled.
func TestCallContextReuse(t *testing.T) {
	st, mod := callTestState(t, 150*time.Millisecond)
	var kept context.Context
	st.L.SetGlobal("keep", st.L.NewFunction(func(L *lua.LState) int { kept = L.Context(); return 0 }))
	info := &CallInfo{Module: "calls"}
	spin := mod.Callout("validate_connect")
	quick := mod.Callout("validate_ehlo")

	for i := 0; i < 2; i++ { // the second timeout proves the timer re-arms
		_, err := st.Call(context.Background(), info, spin)
		if se, ok := AsScriptError(err); !ok || se.Kind != KindTimeout {
			t.Fatalf("spin %d: %v, want a timeout", i, err)
		}
		ret, err := st.Call(context.Background(), info, quick)
		if err != nil || len(ret) != 1 || ret[0] != lua.LNumber(7) {
			t.Fatalf("call after a timeout: %v %v", ret, err)
		}
	}

	parent, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancel(errors.New("session closed")) }()
	_, err := st.Call(parent, info, spin)
	if se, ok := AsScriptError(err); !ok || se.Kind != KindRuntime {
		t.Fatalf("cancelled caller: %v, want the call stopped", err)
	}
	if _, err := st.Call(parent, info, quick); err == nil {
		t.Fatal("a call with an already cancelled caller ran")
	}
	if _, err := st.Call(context.Background(), info, quick); err != nil {
		t.Fatalf("call from another caller after a cancelled one: %v", err)
	}

	if _, err := st.Call(context.Background(), &CallInfo{Module: "calls", Callout: "validate_mailfrom"}, mod.Callout("validate_mailfrom")); err != nil {
		t.Fatal(err)
	}
	if kept == nil || CallInfoFrom(kept).Callout != "validate_mailfrom" {
		t.Fatalf("the call's context did not carry its CallInfo")
	}
	if _, err := st.Call(context.Background(), info, quick); err != nil {
		t.Fatal(err)
	}
	select {
	case <-kept.Done():
	default:
		t.Fatal("a finished call's context is not done")
	}
	if !errors.Is(kept.Err(), context.Canceled) {
		t.Fatalf("a finished call's context reports %v", kept.Err())
	}
}

// TestEndOfLastCallerDoesNotStopTheNext checks a State that moves from
// one session to the next: the first session's context ending while, or
// just before, the next session calls must not cancel the next call.
// Both a cancellable and a background caller are tried, many times, so
// that the first context's cancellation lands at every point of the
// second call's start.
func TestEndOfLastCallerDoesNotStopTheNext(t *testing.T) {
	_, st := testState(t, `msys.registerModule("m", {})`)
	fn, err := st.L.LoadString(`local s = 0 for i = 1, 200 do s = s + i end return s`)
	if err != nil {
		t.Fatal(err)
	}
	info := &CallInfo{Module: "m", Callout: "test"}
	for i := range 2000 {
		first, endFirst := context.WithCancel(context.Background())
		if _, err := st.Call(first, info, fn); err != nil {
			t.Fatal(err)
		}
		next, endNext := context.WithCancel(context.Background())
		caller := next
		if i%2 == 1 {
			caller = context.Background()
		}
		go endFirst()
		if _, err := st.Call(caller, info, fn); err != nil {
			t.Fatalf("round %d: the next caller's call failed: %v", i, err)
		}
		endNext()
	}
}
