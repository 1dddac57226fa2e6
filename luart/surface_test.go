package luart

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestSurfaceRows checks the rules a row of Surface follows, so a new row
// is complete: Offered rows name their package, Lacking functions say
// why, and no function is listed twice in one namespace.
func TestSurfaceRows(t *testing.T) {
	seen := map[string]string{}
	for _, ns := range Surface() {
		switch {
		case ns.Name == "":
			t.Errorf("row without a name: %+v", ns)
		case ns.Status == Offered && ns.Package == "":
			t.Errorf("%s: Offered without Package", ns.Name)
		case ns.Status != Offered && ns.Package != "":
			t.Errorf("%s: Package %q on a row luamilter does not offer", ns.Name, ns.Package)
		case ns.Status == Lacking && len(ns.Functions) > 0 && ns.Why == "":
			t.Errorf("%s: lacking functions %v without Why", ns.Name, ns.Functions)
		case ns.Status == Builtin && len(ns.Functions) > 0:
			t.Errorf("%s: a Builtin helper lists functions", ns.Name)
		}
		for _, fn := range ns.Functions {
			full := ns.Name + "." + fn
			if prev, ok := seen[full]; ok {
				t.Errorf("%s listed by %q and %q", full, prev, ns.Package)
			}
			seen[full] = ns.Package
		}
	}
}

// TestSurfaceStandIns checks that every name Surface marks Builtin or
// Lacking is answered as the row says, in a runtime with no libraries.
func TestSurfaceStandIns(t *testing.T) {
	type probe struct{ name, code, want string }
	var probes []probe
	for _, ns := range Surface() {
		switch {
		case ns.Status == Builtin:
			probes = append(probes, probe{ns.Name, `return type(require("` + ns.Name + `"))`, "table"})
		case ns.Status == Lacking && len(ns.Functions) == 0:
			want := "luamilter does not provide the " + ns.Name + " library"
			probes = append(probes, probe{ns.Name + " by require", `local l = require("` + ns.Name + `") return select(2, pcall(function() return l.f end))`, want})
			if strings.Count(ns.Name, ".") == 1 && strings.HasPrefix(ns.Name, "msys.") {
				probes = append(probes, probe{ns.Name, `return select(2, pcall(function() return ` + ns.Name + `.f end))`, want})
			}
		case ns.Status == Lacking:
			for _, fn := range ns.Functions {
				probes = append(probes, probe{ns.Name + "." + fn, `return select(2, pcall(` + ns.Name + "." + fn + `))`,
					ns.Name + "." + fn + " is not provided by luamilter: " + ns.Why})
			}
		}
	}
	rt := testRuntime(t, `msys.registerModule("m", {})`, Config{PoolSize: 1, Log: slog.New(slog.DiscardHandler)})
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(st)
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			fn, err := st.L.LoadString(p.code)
			if err != nil {
				t.Fatal(err)
			}
			ret, err := st.Call(context.Background(), &CallInfo{Module: "m", Callout: "test"}, fn)
			if err != nil {
				t.Fatal(err)
			}
			if got := lua.LVAsString(ret[0]); !strings.Contains(got, p.want) {
				t.Errorf("%s = %q, want it to contain %q", p.code, got, p.want)
			}
		})
	}
}
