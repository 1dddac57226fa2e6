package luart

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// callCode runs code as one call in a fresh State with the given timeout
// and returns its first result and error. It fails the test if the call
// does not end within a generous bound past the timeout.
func callCode(t *testing.T, st *State, timeout time.Duration, code string) (string, error) {
	t.Helper()
	fn, err := st.L.LoadString(code)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		ret string
		err error
	}
	done := make(chan result, 1)
	go func() {
		ret, err := st.Call(context.Background(), &CallInfo{Module: "co", Callout: "test"}, fn)
		r := result{err: err}
		if len(ret) > 0 {
			r.ret = ret[0].String()
		}
		done <- r
	}()
	select {
	case r := <-done:
		return r.ret, r.err
	case <-time.After(timeout + 10*time.Second):
		t.Fatalf("%s: still running long past its %s timeout", code, timeout)
		return "", nil
	}
}

// nestResume resumes coroutines n deep, each from inside the last.
const nestResume = `local function nest(n)
  if n == 0 then return "bottom" end
  local ok, v = coroutine.resume(coroutine.create(nest), n - 1)
  if not ok then error(v, 0) end
  return v
end
`

// TestCoroutinesCountAgainstTheCallsLimits checks that coroutines run
// under the deadline of the call resuming them and within the nesting
// limit, whether the script uses wrap or resume or tries to swallow the
// error, and that the call then ends with the usual outcome.
func TestCoroutinesCountAgainstTheCallsLimits(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, tc := range []struct {
		name, code string
		kind       ErrorKind
		msg        string
	}{
		{"wrap recursion", `local function f() return coroutine.wrap(f)() end f()`, KindLimit, "C stack overflow"},
		{"wrap recursion in pcall", `local function f() return coroutine.wrap(f)() end
local ok, err = pcall(f) return "swallowed"`, KindLimit, "C stack overflow"},
		{"resume recursion", `local function g() return coroutine.resume(coroutine.create(g)) end g()`, KindLimit, "C stack overflow"},
		{"resume recursion ignoring errors", `local function g() coroutine.resume(coroutine.create(g)) return "swallowed" end
return g()`, KindLimit, "C stack overflow"},
		{"deep resume nesting", nestResume + `return nest(1000)`, KindLimit, "C stack overflow"},
		{"busy loop in wrap", `coroutine.wrap(function() while true do end end)()`, KindTimeout, "timeout"},
		{"busy loop in resume", `local ok = coroutine.resume(coroutine.create(function() while true do end end))
return "swallowed"`, KindTimeout, "timeout"},
		{"resume in a loop", `while true do coroutine.resume(coroutine.create(function() while true do end end)) end`, KindTimeout, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := testRuntime(t, `msys.registerModule("co", {})`, Config{PoolSize: 1, Timeout: timeout})
			st, err := rt.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Release(st)
			ret, err := callCode(t, st, timeout, tc.code)
			se, ok := AsScriptError(err)
			if !ok || se.Kind != tc.kind || !strings.Contains(se.Error(), tc.msg) {
				t.Fatalf("returned %q, error %v; want a %s error with %q", ret, err, tc.kind, tc.msg)
			}
			if got, err := callCode(t, st, timeout, `return coroutine.wrap(function() return "next" end)()`); err != nil || got != "next" {
				t.Fatalf("the next call: %q, %v", got, err)
			}
		})
	}
}

// TestCoroutinesStillWork checks ordinary coroutine use in the sandbox.
func TestCoroutinesStillWork(t *testing.T) {
	_, st := testState(t, `msys.registerModule("co", {})`)
	for _, tc := range []struct{ name, code, want string }{
		{"generator", `local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
return gen() + gen() + gen()`, "6"},
		{"values in and out", `local co = coroutine.create(function(a, b) local c = coroutine.yield(a + b) return c * 2 end)
local _, x = coroutine.resume(co, 1, 2) local _, y = coroutine.resume(co, 10)
return x .. " " .. y .. " " .. coroutine.status(co)`, "3 20 dead"},
		{"error returned by resume", `return select(2, coroutine.resume(coroutine.create(function() error("boom") end)))`, "boom"},
		{"error raised by wrap", `return select(2, pcall(coroutine.wrap(function() error("boom") end)))`, "boom"},
		{"error object through wrap", `return select(2, pcall(coroutine.wrap(function() error({code = 7}) end))).code`, "7"},
		{"dead coroutine", `local co = coroutine.create(function() end) coroutine.resume(co)
return tostring(coroutine.resume(co))`, "false"},
		{"status inside", `local co co = coroutine.create(function() return coroutine.status(co) end)
return select(2, coroutine.resume(co))`, "running"},
		{"pcall inside", `return coroutine.wrap(function() return select(2, pcall(error, "caught")) end)()`, "caught"},
		{"resuming the resumer", `local a a = coroutine.create(function()
  return coroutine.resume(coroutine.create(function() return coroutine.resume(a) end)) end)
return select(4, coroutine.resume(a))`, "cannot resume normal coroutine"},
		{"nesting below the limit", nestResume + `return nest(150)`, "bottom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := runChunk(t, st, tc.code); !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCoroutineAcrossCalls checks that a coroutine kept from one call
// runs under the deadline of the call that resumes it, and that making
// coroutines costs no goroutine that outlives the call.
func TestCoroutineAcrossCalls(t *testing.T) {
	const timeout = 200 * time.Millisecond
	rt := testRuntime(t, `msys.registerModule("co", {})`, Config{PoolSize: 1, Timeout: timeout})
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(st)
	before := runtime.NumGoroutine()
	if _, err := callCode(t, st, timeout, `kept = coroutine.wrap(function()
  coroutine.yield("first")
  coroutine.yield("second")
  while true do end
end)
for i = 1, 500 do coroutine.resume(coroutine.create(function() coroutine.yield() end)) end
return kept()`); err != nil {
		t.Fatal(err)
	}
	if grown := runtime.NumGoroutine() - before; grown > 100 {
		t.Errorf("%d goroutines more after making 500 coroutines", grown)
	}
	if got, err := callCode(t, st, timeout, `return kept()`); err != nil || got != "second" {
		t.Fatalf("resumed in a later call: %q, %v", got, err)
	}
	_, err = callCode(t, st, timeout, `return kept()`)
	if se, ok := AsScriptError(err); !ok || se.Kind != KindTimeout {
		t.Fatalf("busy coroutine resumed in a later call: %v, want a timeout", err)
	}
}
