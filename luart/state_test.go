package luart

import (
	"context"
	"fmt"
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
	// gone is removed before kept is set, so its key comes before the
	// last one of the snapshot; touch assigns it by name.
	rt := testRuntime(t, `gone = 1; gone = nil; kept = "orig"
function touch() gone = 1 end
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
		{"removed while loading", `gone = 2`, false},
		{"metatable of the globals", `setmetatable(_G, {})`, false},
		{"metatable set and removed", `setmetatable(_G, {}); setmetatable(_G, nil)`, true},
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
			if got := runChunk(t, st, `return tostring(kept) .. tostring(brand_new) .. tostring(rawget(_G, 1)) .. tostring(dofile) .. tostring(rawget(string, "extra")) .. tostring(gone) .. tostring(getmetatable(_G))`); got != "orignilnilnilnilnilnil" {
				t.Fatalf("after reset: %s", got)
			}
		})
	}
}

// TestStatesMustRegisterTheSameModules checks that a State whose scripts
// register other modules than the first State's is refused: sessions find
// their modules by position in whichever State runs a callout.
func TestStatesMustRegisterTheSameModules(t *testing.T) {
	rt := testRuntime(t, `msys.registerModule(os.getenv("LUAMILTER_TEST_MODULE") or "first", {})`,
		Config{PoolSize: 1, ScriptEnv: []string{"LUAMILTER_TEST_MODULE"}})
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

// TestAssignedGlobals checks the bytecode walk that finds the globals
// the scripts assign by name, which also guards the instruction layout
// opcode and argBx assume.
func TestAssignedGlobals(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"main chunk", `x = 1; local y = 2; y = x`, "x"},
		{"nested functions", `local function f() return function() a = 3 end end; function b() end`, "b a"},
		{"fields and locals", `local t = {}; function f() t.x = 1; local x = 2; return x end`, "f"},
		{"dynamic names", `_G["d" .. 1] = 1; rawset(_G, "e", 1)`, ""},
		{"constant beyond 511", manyFields(600) + `far = 1`, "far"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proto, err := CompileSource(tc.name, []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(assignedGlobals(proto), " "); got != tc.want {
				t.Fatalf("assignedGlobals = %q, want %q", got, tc.want)
			}
		})
	}
}

// manyFields is code with n distinct string constants.
func manyFields(n int) string {
	var b strings.Builder
	b.WriteString("local t = {}\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "t.k%d = 1\n", i)
	}
	return b.String()
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
