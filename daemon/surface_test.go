package daemon

import (
	"context"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// functionsOf returns the names of the functions t holds, read through
// the read-only views' __index chain as scripts read them.
func functionsOf(t *lua.LTable) []string {
	var out []string
	for depth := 0; t != nil && depth < 8; depth++ {
		t.ForEach(func(k, v lua.LValue) {
			if _, ok := v.(*lua.LFunction); ok && !slices.Contains(out, k.String()) {
				out = append(out, k.String())
			}
		})
		mt, ok := t.Metatable.(*lua.LTable)
		if !ok {
			break
		}
		t, _ = mt.RawGetString("__index").(*lua.LTable)
	}
	sort.Strings(out)
	return out
}

// TestSurfaceMatchesLibraries checks luart.Surface against what the
// libraries serve builds really open: each namespace holds exactly the
// functions its rows list (its Lacking stand-ins included), and every
// configured library is a namespace Surface offers.
func TestSurfaceMatchesLibraries(t *testing.T) {
	cfg := stackConfig(t)
	s, err := NewStack(cfg, StackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rt, err := s.Runtime(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(st)

	want := map[string][]string{}
	offered := map[string]bool{}
	for _, ns := range luart.Surface() {
		if ns.Status == luart.Offered {
			offered[ns.Name] = true
		}
		if ns.Status == luart.Offered || (ns.Status == luart.Lacking && offered[ns.Name]) {
			want[ns.Name] = append(want[ns.Name], ns.Functions...)
		}
	}
	for _, lib := range s.libs {
		if !offered[lib.Name()] {
			t.Errorf("library %s is not in luart.Surface", lib.Name())
		}
	}
	load, err := st.L.LoadString(`local n = ... if n == "msys" then return msys end return require(n)`)
	if err != nil {
		t.Fatal(err)
	}
	for name, fns := range want {
		t.Run(name, func(t *testing.T) {
			ret, err := st.Call(context.Background(), &luart.CallInfo{Module: "surface", Callout: "test"}, load, lua.LString(name))
			if err != nil {
				t.Fatal(err)
			}
			tbl, ok := ret[0].(*lua.LTable)
			if !ok {
				t.Fatalf("require(%q) is a %s", name, ret[0].Type())
			}
			wantFns := slices.Sorted(slices.Values(fns))
			if got := functionsOf(tbl); !slices.Equal(got, wantFns) {
				t.Errorf("%s has functions %v; luart.Surface lists %v", name, got, wantFns)
			}
		})
	}
}

// TestReadmeNamesTheSurface checks that the README mentions every
// namespace luamilter offers and every function it puts directly in msys.
func TestReadmeNamesTheSurface(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, ns := range luart.Surface() {
		if ns.Status != luart.Offered {
			continue
		}
		names := []string{ns.Name}
		if ns.Name == "msys" {
			names = nil
			for _, fn := range ns.Functions {
				names = append(names, "msys."+fn)
			}
		}
		for _, n := range names {
			if !strings.Contains(readme, "`"+n) {
				t.Errorf("README.md does not mention `%s` (luart.Surface offers it, from %s)", n, ns.Package)
			}
		}
	}
}
