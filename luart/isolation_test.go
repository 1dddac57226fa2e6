package luart

import (
	"context"
	"strings"
	"testing"
)

// isolationScript wraps body in a callout that stands for one session's
// script: a script that is itself harmless, fed with a sender's data.
func isolationScript(prelude, body string) string {
	return prelude + `
local mod = {}
function mod:validate_mailfrom()
  ` + body + `
end
msys.registerModule("iso", mod)`
}

// nextSession runs the callout in one session the way the policy does
// (ReleaseClean after the callout; a session that had to keep its State
// gives it back with Release when it ends), then runs probe in the next
// session on the same State and returns its result and the callout's
// error.
func nextSession(t *testing.T, rt *Runtime, probe string) (string, error) {
	t.Helper()
	ctx := context.Background()
	st, err := rt.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, cerr := st.Call(ctx, &CallInfo{Module: "iso", Callout: "validate_mailfrom"},
		st.Modules[0].Callout("validate_mailfrom"), st.L.NewTable())
	if !rt.ReleaseClean(st) {
		rt.Release(st)
	}
	next, err := rt.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(next)
	if next != st {
		t.Fatal("the pool of one handed out another State")
	}
	return runChunk(t, next, probe), cerr
}

// TestStringLibraryIsolation checks that no session can change the
// string functions a later session gets, through the string metatable or
// the string table, and that string methods keep working.
func TestStringLibraryIsolation(t *testing.T) {
	const probe = `return ("x"):upper() .. string.upper("y") .. ("%d"):format(1) .. #("abc") .. tostring(rawget(string, "upper"))`
	const want = "XY13nil"
	for _, tc := range []struct {
		name, body, err string
	}{
		{"metatable __index field", `getmetatable("").__index.upper = function() return "evil" end`, "read-only table 'string'"},
		{"metatable __index rawset", `rawset(getmetatable("").__index, "upper", function() return "evil" end)`, ""},
		{"metatable field", `getmetatable("").__index = {upper = function() return "evil" end}`, "read-only table 'string metatable'"},
		{"metatable rawset", `rawset(getmetatable(""), "__index", {upper = function() return "evil" end})`, ""},
		{"string field", `string.upper = function() return "evil" end`, "read-only table 'string'"},
		{"string rawset", `rawset(string, "upper", function() return "evil" end)`, ""},
		{"string global", `string = {upper = function() return "evil" end}`, ""},
		{"through package.loaded", `package.loaded.string.upper = function() return "evil" end`, "read-only table 'string'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := testRuntime(t, isolationScript("", tc.body), Config{PoolSize: 1})
			got, err := nextSession(t, rt, probe)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("callout error %v, want %q", err, tc.err)
			}
			if got != want {
				t.Errorf("next session got %q, want %q", got, want)
			}
		})
	}
}

// TestStringMetatableView checks what a script sees of the string
// metatable: a read-only view whose __index is the string library.
func TestStringMetatableView(t *testing.T) {
	_, st := testState(t, `msys.registerModule("view", {})`)
	for code, want := range map[string]string{
		`return getmetatable("").__index == string`:                                      "true",
		`return getmetatable("").__index.upper("a") .. ("b"):rep(2) .. ("c"):len()`:      "Abb1",
		`return select(2, pcall(function() getmetatable("").__index.x = 1 end))`:         "attempt to modify read-only table 'string'",
		`return tostring(getmetatable(getmetatable("")))`:                                "false",
		`return tostring(pcall(setmetatable, getmetatable(""), {}))`:                     "false",
		`local s = "abc" return s:sub(2) .. s:byte(1) .. s:find("c") .. #s .. s:upper()`: "bc9733ABC",
	} {
		if got := runChunk(t, st, code); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", code, got, want)
		}
	}
}
