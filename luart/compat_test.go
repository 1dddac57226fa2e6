package luart

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestLua50Names checks that the Lua 5.0 names thrLua keeps enabled are
// there in a sandboxed State.
func TestLua50Names(t *testing.T) {
	p := filepath.Join(t.TempDir(), "compat.lua")
	if err := os.WriteFile(p, []byte(`msys.registerModule("compat", {})`), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := New(Config{Scripts: []string{p}, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(st)
	tests := map[string]string{
		`local n = 0; for w in string.gfind("a b c", "%a") do n = n + 1 end; return n`: "3",
		`return math.mod(7, 3)`:           "1",
		`return table.getn({1, 2, 3, 4})`: "4",
	}
	for code, want := range tests {
		fn, err := st.L.LoadString(code)
		if err != nil {
			t.Fatal(err)
		}
		ret, err := st.Call(context.Background(), &CallInfo{Module: "compat", Callout: "test"}, fn)
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if len(ret) != 1 || ret[0].String() != want {
			t.Errorf("%s = %v, want %s", code, ret, want)
		}
	}
}
