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

// TestThreadsShareWhatScriptsWrite checks Momentum's scoping on the
// generation's threads: a global, a file-level local and a module field
// written in one thread are what the next thread sees, as thrLua's one
// global state gives, while the libraries stay read-only.
func TestThreadsShareWhatScriptsWrite(t *testing.T) {
	rt := testRuntime(t, `local counter = 0
function bump() counter = counter + 1; return counter end
local mod = {}
msys.registerModule("share", mod)`, Config{PoolSize: 2})
	run := func(code string) string {
		st, err := rt.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Release(st)
		return runChunk(t, st, code)
	}
	// Two threads held at once, so the second is not the first again.
	a, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	runChunk(t, a, `shared_global = "from a"; bump()`)
	rt.Release(a)
	for _, tc := range []struct{ code, want string }{
		{`return shared_global`, "from a"},
		{`return tostring(bump())`, "2"},
		{`return tostring(bump())`, "3"},
		{`local ok, err = pcall(function() string.upper = nil end) return tostring(ok)`, "false"},
		{`return string.upper("x")`, "X"},
	} {
		if got := run(tc.code); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.code, got, tc.want)
		}
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
