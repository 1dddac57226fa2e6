package luart

import (
	"context"
	"runtime"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

const benchScript = `local mod = {}
local n = 0
function mod:validate_mailfrom(str, ac, vctx)
  n = n + 1
  if string.find(str, "@bad.example", 1, true) != nil then
    return msys.core.VALIDATE_DONE
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("bench", mod)`

func benchRuntime(b testing.TB, timeout time.Duration) *Runtime {
	b.Helper()
	return testRuntime(b, benchScript, Config{Timeout: timeout, PoolSize: 1})
}

// BenchmarkCalloutRoundTrip is one Go → Lua → Go callout through the
// isolation wrapper (deadline context, panic recovery, result copy).
func BenchmarkCalloutRoundTrip(b *testing.B) {
	rt := benchRuntime(b, 2*time.Second)
	st, err := rt.Acquire(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	fn := st.Modules[0].Callout("validate_mailfrom")
	self := st.L.NewTable()
	arg := lua.LString("MAIL FROM:<a@example.org>")
	info := &CallInfo{Module: "bench", Callout: "validate_mailfrom"}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.Call(ctx, info, fn, self, arg, lua.LNil, lua.LNil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStringMethods is a callout that calls string methods on
// values (s:lower(), s:sub(), ...), which look through the string
// metatable's __index; it shows what the read-only view there costs.
func BenchmarkStringMethods(b *testing.B) {
	rt := testRuntime(b, `local mod = {}
function mod:validate_mailfrom(str)
  local n = 0
  for i = 1, 10 do
    n = n + #str:lower() + #str:sub(6, 9) + #("%d"):format(i)
  end
  return n
end
msys.registerModule("bench", mod)`, Config{PoolSize: 1})
	st, err := rt.Acquire(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	fn := st.Modules[0].Callout("validate_mailfrom")
	self := st.L.NewTable()
	arg := lua.LString("MAIL FROM:<a@example.org>")
	info := &CallInfo{Module: "bench", Callout: "validate_mailfrom"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Call(context.Background(), info, fn, self, arg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThreadMemory reports the live heap per thread, and for 200
// threads held at once as 200 sessions inside a blocking call would.
func BenchmarkThreadMemory(b *testing.B) {
	rt := benchRuntime(b, 2*time.Second)
	for i := 0; i < b.N; i++ {
		before := liveHeap()
		states := make([]*State, 200)
		for j := range states {
			states[j] = rt.Thread()
		}
		after := liveHeap()
		b.ReportMetric(float64(after-before)/200/1024, "KiB/thread")
		b.ReportMetric(float64(after-before)/(1<<20), "MiB/200-threads")
		for _, st := range states {
			rt.Release(st)
		}
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkDeadlineCost compares a loop-heavy callout with and without the
// context that carries the deadline: gopher-lua checks the context on
// every instruction, which is the price of stopping runaway scripts.
func BenchmarkDeadlineCost(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	if err := L.DoString(`function work() local s = 0 for i = 1, 1000 do s = s + i % 7 end return s end`); err != nil {
		b.Fatal(err)
	}
	fn := L.GetGlobal("work")
	run := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			L.Push(fn)
			if err := L.PCall(0, 1, nil); err != nil {
				b.Fatal(err)
			}
			L.Pop(1)
		}
	}
	b.Run("no-context", run)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	L.SetContext(ctx)
	b.Run("with-deadline", run)
	L.RemoveContext()
}

// BenchmarkLeaseRoundTrip is what a session pays per SMTP event to take
// the Lua lock and a thread and give them back.
func BenchmarkLeaseRoundTrip(b *testing.B) {
	rt := benchRuntime(b, 2*time.Second)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		st, err := rt.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rt.Release(st)
	}
}
