package luart

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// testRuntime writes src as a script and builds a Runtime running it
// with cfg, closed when t ends.
func testRuntime(t testing.TB, src string, cfg Config) *Runtime {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Scripts = []string{p}
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

// runChunk runs code in st as a call and returns its first result.
func runChunk(t *testing.T, st *State, code string) string {
	t.Helper()
	fn, err := st.L.LoadString(code)
	if err != nil {
		t.Fatal(err)
	}
	ret, err := st.Call(context.Background(), &CallInfo{Module: "test", Callout: "test"}, fn)
	if err != nil {
		t.Fatalf("%s: %v", code, err)
	}
	if len(ret) == 0 {
		return ""
	}
	return ret[0].String()
}

// TestResetUndoesGlobalWrites checks that a State given back to the pool
// has its globals as after loading: added ones gone, changed and removed
// ones restored.
func TestResetUndoesGlobalWrites(t *testing.T) {
	rt := testRuntime(t, `kept = "orig"; msys.registerModule("reset", {})`, Config{PoolSize: 1})
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	runChunk(t, st, `print = nil; tostring = 5; kept = "changed"; added = true`)
	rt.Release(st)
	st2, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(st2)
	if st2 != st {
		t.Skip("the pool handed out a different State")
	}
	got := runChunk(t, st2, `return type(print) .. " " .. type(tostring) .. " " .. kept .. " " .. tostring(added)`)
	if want := "function function orig nil"; got != want {
		t.Errorf("after reset: %q, want %q", got, want)
	}
}
