package luart

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/logbuf"
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

// testState builds a Runtime running src and takes a State from it,
// given back when t ends.
func testState(t testing.TB, src string) (*Runtime, *State) {
	t.Helper()
	rt := testRuntime(t, src, Config{PoolSize: 1})
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Release(st) })
	return rt, st
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
	// The second chunk only changes existing globals, which these scripts
	// can't do themselves (so Clean would not look): reset still does.
	for _, chunk := range []string{`print = nil; tostring = 5; kept = "changed"; added = true`, `kept = "changed"`} {
		runChunk(t, st, chunk)
		rt.Release(st)
		st2, err := rt.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st2 != st {
			rt.Release(st2)
			t.Skip("the pool handed out a different State")
		}
		got := runChunk(t, st2, `return type(print) .. " " .. type(tostring) .. " " .. kept .. " " .. tostring(added)`)
		if want := "function function orig nil"; got != want {
			t.Errorf("after %s and a reset: %q, want %q", chunk, got, want)
		}
	}
	rt.Release(st)
}

// TestPrintNeedsStringsFromTostring checks Lua 5.1's rule for print and
// __tostring: a string or a number (shown as text) is printed, anything
// else fails.
func TestPrintNeedsStringsFromTostring(t *testing.T) {
	for _, tc := range []struct {
		returns, logged, err string
	}{
		{`"text"`, "msg=text", ""},
		{`1.5`, "msg=1.5", ""},
		{`{}`, "", "'tostring' must return a string to 'print'"},
		{`1 == 1`, "", "'tostring' must return a string to 'print'"},
	} {
		t.Run(tc.returns, func(t *testing.T) {
			logs := &logbuf.Buffer{}
			rt := testRuntime(t, `msys.registerModule("p", {})`,
				Config{PoolSize: 1, Log: slog.New(slog.NewTextHandler(logs, nil))})
			st, err := rt.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Release(st)
			fn, err := st.L.LoadString(`print(setmetatable({}, {__tostring = function() return ` + tc.returns + ` end}))`)
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Call(context.Background(), &CallInfo{Module: "p", Callout: "test"}, fn)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !strings.Contains(logs.String(), tc.logged) {
				t.Fatalf("err %v, log %q, want %q", err, logs.String(), tc.logged)
			}
		})
	}
}

// TestNewKeepsTheCallersScriptDirs checks New does not write the script
// directories it adds into the caller's slice.
func TestNewKeepsTheCallersScriptDirs(t *testing.T) {
	dirs := make([]string, 1, 4)
	dirs[0] = t.TempDir()
	testRuntime(t, `msys.registerModule("d", {})`, Config{PoolSize: 1, ScriptDirs: dirs})
	if got := dirs[:cap(dirs)][1]; got != "" {
		t.Fatalf("New wrote %q into the caller's backing array", got)
	}
}

// TestCleanSeesEveryKindOfWrite checks that Clean notices each way a
// callout can leave a State different from a fresh one, that writes which
// end where they began leave it clean, and that reset makes it clean.
func TestCleanSeesEveryKindOfWrite(t *testing.T) {
	// touch makes the scripts ones that may write globals after loading,
	// so Clean compares every global (see TestMayWriteGlobals).
	rt := testRuntime(t, `kept = "orig"; gone = 1; gone = nil
function touch() kept = kept end
msys.registerModule("clean", {})`, Config{PoolSize: 1})
	for _, tc := range []struct {
		name, code string
		clean      bool
	}{
		{"read only", `local x = kept .. string.upper("a")`, true},
		{"local variables", `local kept = "shadowed"`, true},
		{"written back", `kept = "changed"; kept = "orig"`, true},
		{"added then removed", `brand_new = 1; brand_new = nil`, true},
		{"changed", `kept = "changed"`, false},
		{"library replaced", `tostring = nil`, false},
		{"added", `brand_new = 1`, false},
		{"added through _G", `_G["with space"] = true`, false},
		{"array part", `_G[1] = true`, false},
		{"sandbox removal undone", `dofile = print`, false},
		{"library view", `rawset(string, "extra", 1)`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := rt.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Release(st)
			if !st.Clean() {
				t.Fatal("a State from the pool is not clean")
			}
			runChunk(t, st, tc.code)
			if got := st.Clean(); got != tc.clean {
				t.Fatalf("Clean() = %v after %s, want %v", got, tc.code, tc.clean)
			}
			if !st.reset() || !st.Clean() {
				t.Fatal("not clean after reset")
			}
			if got := runChunk(t, st, `return tostring(kept) .. tostring(brand_new) .. tostring(rawget(_G, 1)) .. tostring(dofile) .. tostring(rawget(string, "extra"))`); got != "orignilnilnilnil" {
				t.Fatalf("after reset: %s", got)
			}
		})
	}
}

// TestStatesMustRegisterTheSameModules checks that a State whose scripts
// register other modules than the first State's is refused: sessions find
// their modules by position in whichever State runs a callout.
func TestStatesMustRegisterTheSameModules(t *testing.T) {
	rt := testRuntime(t, `msys.registerModule(os.getenv("LUAMILTER_TEST_MODULE") or "first", {})`, Config{PoolSize: 1})
	t.Setenv("LUAMILTER_TEST_MODULE", "second")
	first, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(first)
	_, err = rt.Acquire(context.Background())
	if err == nil || !strings.Contains(err.Error(), `registered module "second" where "first"`) {
		t.Fatalf("second State: err = %v", err)
	}
}

// TestMayWriteGlobals checks the static test that lets Clean skip
// comparing every global: only scripts whose functions can't change a
// global after loading may skip it.
func TestMayWriteGlobals(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      bool
	}{
		{"main chunk only", `x = 1; function f() return x end; local mod = {}
function mod:validate_data(msg) local y = x + 1 return y end`, false},
		{"assignment in a function", `function f() x = 2 end`, true},
		{"assignment in a nested function", `local function f() return function() x = 3 end end`, true},
		{"_G in main chunk", `local G = _G; function f() G.x = 1 end`, true},
		{"rawset", `function f(t) rawset(t, "x", 1) end`, true},
		{"getfenv", `function f() getfenv(1).x = 1 end`, true},
		{"loadstring", `function f(s) return loadstring(s) end`, true},
		{"require at run time", `function f() return require("x") end`, true},
		{"fields and locals", `local t = {}; function f() t.x = 1; local x = 2; return x end`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proto, err := CompileSource(tc.name, []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := mayWriteGlobals(proto); got != tc.want {
				t.Fatalf("mayWriteGlobals = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCleanWithoutGlobalWrites checks that scripts that can't change a
// global still get additions and library view writes noticed.
func TestCleanWithoutGlobalWrites(t *testing.T) {
	rt := testRuntime(t, `msys.registerModule("pure", {})`, Config{PoolSize: 1})
	if rt.globalWrites {
		t.Fatal("a script without functions counts as writing globals")
	}
	for _, code := range []string{`brand_new = 1`, `rawset(string, "x", 1)`} {
		st, err := rt.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		runChunk(t, st, code)
		if st.Clean() {
			t.Errorf("Clean() after %s", code)
		}
		rt.Release(st)
	}
}

// TestMentions checks the static look for names that lets the policy
// leave out what no script uses.
func TestMentions(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		unsafe    bool
		want      bool
	}{
		{"other methods only", `local mod = {}
function mod:validate_data(msg) if msg:header("Subject")[1] then return 1 end return 0 end
msys.registerModule("m", mod)`, false, false},
		{"method call", `local mod = {}
function mod:validate_data(msg) return #msg:body() end
msys.registerModule("m", mod)`, false, true},
		{"name as a string", `local which = "raw"; local mod = {}
function mod:validate_data(msg) return #msg[which](msg) end
msys.registerModule("m", mod)`, false, true},
		{"code loaded at run time", `local mod = {}
function mod:validate_data(msg) return loadstring("return 1")() end
msys.registerModule("m", mod)`, false, true},
		{"unsafe Lua", `msys.registerModule("m", {})`, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := testRuntime(t, tc.src, Config{PoolSize: 1, Unsafe: tc.unsafe})
			if got := rt.Mentions("body", "raw"); got != tc.want {
				t.Fatalf("Mentions(body, raw) = %v, want %v", got, tc.want)
			}
		})
	}
}
