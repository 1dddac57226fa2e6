package luart

import (
	"context"
	"strings"
	"testing"
)

// TestLua50Names checks that the Lua 5.0 names thrLua keeps enabled are
// there in a sandboxed State.
func TestLua50Names(t *testing.T) {
	_, st := testState(t, `msys.registerModule("compat", {})`)
	tests := map[string]string{
		`local n = 0; for w in string.gfind("a b c", "%a") do n = n + 1 end; return n`: "3",
		`return math.mod(7, 3)`:           "1",
		`return table.getn({1, 2, 3, 4})`: "4",
	}
	for code, want := range tests {
		if got := runChunk(t, st, code); got != want {
			t.Errorf("%s = %s, want %s", code, got, want)
		}
	}
}

// TestGetenvOnlyScriptEnv checks that os.getenv answers only the
// variables Config.ScriptEnv names: the daemon's environment may hold
// credentials.
func TestGetenvOnlyScriptEnv(t *testing.T) {
	t.Setenv("LUAMILTER_TEST_ALLOWED", "visible")
	t.Setenv("LUAMILTER_TEST_SECRET", "password")
	t.Setenv("LUAMILTER_TEST_EMPTY", "")
	for _, tc := range []struct {
		name  string
		allow []string
		code  string
		want  string
	}{
		{"allowed", []string{"LUAMILTER_TEST_ALLOWED"}, `return os.getenv("LUAMILTER_TEST_ALLOWED")`, "visible"},
		{"allowed and empty", []string{"LUAMILTER_TEST_EMPTY"}, `return type(os.getenv("LUAMILTER_TEST_EMPTY"))`, "string"},
		{"allowed but unset", []string{"LUAMILTER_TEST_UNSET"}, `return tostring(os.getenv("LUAMILTER_TEST_UNSET"))`, "nil"},
		{"not allowed", []string{"LUAMILTER_TEST_ALLOWED"}, `return tostring(os.getenv("LUAMILTER_TEST_SECRET"))`, "nil"},
		{"nothing allowed", nil, `return tostring(os.getenv("LUAMILTER_TEST_ALLOWED"))`, "nil"},
		{"PATH by default", nil, `return tostring(os.getenv("PATH"))`, "nil"},
		{"case matters", []string{"LUAMILTER_TEST_ALLOWED"}, `return tostring(os.getenv("luamilter_test_allowed"))`, "nil"},
		{"needs a name", nil, `return select(2, pcall(os.getenv))`, "string expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := testRuntime(t, `msys.registerModule("env", {})`, Config{PoolSize: 1, ScriptEnv: tc.allow})
			st, err := rt.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Release(st)
			if got := runChunk(t, st, tc.code); !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
