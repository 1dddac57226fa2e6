package luart

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestResetUndoesGlobalWrites checks that a State given back to the pool
// has its globals as after loading: added ones gone, changed and removed
// ones restored.
func TestResetUndoesGlobalWrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "reset.lua")
	if err := os.WriteFile(p, []byte(`kept = "orig"; msys.registerModule("reset", {})`), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := New(Config{Scripts: []string{p}, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	run := func(st *State, code string) string {
		t.Helper()
		fn, err := st.L.LoadString(code)
		if err != nil {
			t.Fatal(err)
		}
		ret, err := st.Call(context.Background(), &CallInfo{Module: "reset", Callout: "test"}, fn)
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if len(ret) == 0 {
			return ""
		}
		return ret[0].String()
	}
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	run(st, `print = nil; tostring = 5; kept = "changed"; added = true`)
	rt.Release(st)
	st2, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(st2)
	if st2 != st {
		t.Skip("the pool handed out a different State")
	}
	got := run(st2, `return type(print) .. " " .. type(tostring) .. " " .. kept .. " " .. tostring(added)`)
	if want := "function function orig nil"; got != want {
		t.Errorf("after reset: %q, want %q", got, want)
	}
}
