package luart

import (
	"context"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// isolationScript has a callout standing for a harmless script fed with a
// sender's data: body runs only when the sender is "evil", and the
// callout answers the globals it sees (reply_text is the reply text a
// script might give; gone was removed while loading).
func isolationScript(body string) string {
	return `gone = 1; gone = nil
reply_text = "orig"
local mod = {}
function mod:validate_mailfrom(str)
  if str == "evil" then
    ` + body + `
  end
  return tostring(reply_text) .. "/" .. tostring(undefined_global) .. "/" .. tostring(gone)
end
msys.registerModule("iso", mod)`
}

// untouched is what the callout answers in a State no session changed.
const untouched = "orig/nil/nil"

// session is what two sessions running one after the other on a State
// saw: the first as the "evil" sender, the second as another sender.
type session struct {
	first, next string // the callout's answers
	probe       string // probe's result, run in the second session
	err         error  // the first callout's error
}

// twoSessions runs the callout as the policy does (Release after the
// callout), first for the "evil" sender, then for another one on the same
// thread, and runs probe in the second session.
func twoSessions(t *testing.T, rt *Runtime, probe string) session {
	t.Helper()
	ctx := context.Background()
	var s session
	call := func(st *State, sender string) (string, error) {
		ret, err := st.Call(ctx, &CallInfo{Module: "iso", Callout: "validate_mailfrom"},
			st.Modules[0].Callout("validate_mailfrom"), st.L.NewTable(), lua.LString(sender))
		if len(ret) == 0 {
			return "", err
		}
		return ret[0].String(), err
	}
	st, err := rt.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.first, s.err = call(st, "evil")
	rt.Release(st)
	next, err := rt.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(next)
	if next != st {
		t.Fatal("the pool of one handed out another State")
	}
	if s.next, err = call(next, "good"); err != nil {
		t.Fatalf("second session: %v", err)
	}
	s.probe = runChunk(t, next, probe)
	return s
}

// checkWrite runs body as a callout in one session and probe in the
// next: the callout must fail with an error containing wantErr ("" for
// none), and the probe must answer want.
func checkWrite(t *testing.T, body, wantErr, probe, want string) {
	t.Helper()
	rt := testRuntime(t, isolationScript(body), Config{PoolSize: 1})
	s := twoSessions(t, rt, probe)
	if wantErr == "" && s.err != nil || wantErr != "" && (s.err == nil || !strings.Contains(s.err.Error(), wantErr)) {
		t.Errorf("callout error %v, want %q", s.err, wantErr)
	}
	if s.probe != want {
		t.Errorf("next session got %q, want %q", s.probe, want)
	}
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
		{"metatable __index rawset", `rawset(getmetatable("").__index, "upper", function() return "evil" end)`, "read-only table 'string'"},
		{"metatable field", `getmetatable("").__index = {upper = function() return "evil" end}`, "read-only table 'string metatable'"},
		{"metatable rawset", `rawset(getmetatable(""), "__index", {upper = function() return "evil" end})`, "read-only table 'string metatable'"},
		{"string field", `string.upper = function() return "evil" end`, "read-only table 'string'"},
		{"string rawset", `rawset(string, "upper", function() return "evil" end)`, "read-only table 'string'"},
		{"through package.loaded", `package.loaded.string.upper = function() return "evil" end`, "read-only table 'string'"},
		{"string.__index", `string.__index.upper = function() return "evil" end`, "attempt to index"},
		{"string.__metatable", `string.__metatable.__index.upper = function() return "evil" end`, "attempt to index"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkWrite(t, tc.body, tc.err, probe, want) })
	}
}

// TestLibraryViewsThroughPackageLoaded checks that package.loaded and
// require answer the read-only library views, so no session can change
// the msys.core a later one gets.
func TestLibraryViewsThroughPackageLoaded(t *testing.T) {
	const probe = `return msys.core.VALIDATE_DONE .. require("msys.core").VALIDATE_DONE .. tostring(msys.core.extra)`
	const want = "11nil"
	for _, tc := range []struct{ name, body, err string }{
		{"package.loaded entry", `package.loaded["msys.core"].VALIDATE_DONE = 0`, "read-only table 'msys.core'"},
		{"require", `require("msys.core").VALIDATE_DONE = 0`, "read-only table 'msys.core'"},
		{"rawset on require", `rawset(require("msys.core"), "extra", 1)`, "read-only table 'msys.core'"},
		{"package.loaded.msys", `package.loaded.msys.core.VALIDATE_DONE = 0`, "read-only table 'msys.core'"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkWrite(t, tc.body, tc.err, probe, want) })
	}
}

// TestStringMetatableView checks what a script sees of the string
// metatable: a read-only view whose __index is the string library.
func TestStringMetatableView(t *testing.T) {
	_, st := testState(t, `msys.registerModule("view", {})`)
	for code, want := range map[string]string{
		`return getmetatable("").__index == string`:                                                          "true",
		`return getmetatable("").__index.upper("a") .. ("b"):rep(2) .. ("c"):len()`:                          "Abb1",
		`return select(2, pcall(function() getmetatable("").__index.x = 1 end))`:                             "attempt to modify read-only table 'string'",
		`return tostring(getmetatable(getmetatable("")))`:                                                    "false",
		`return tostring(pcall(setmetatable, getmetatable(""), {}))`:                                         "false",
		`local s = "abc" return s:sub(2) .. s:byte(1) .. s:find("c") .. #s .. s:upper()`:                     "bc9733ABC",
		`return tostring(string.__index) .. tostring(string.__metatable)`:                                    "nilnil",
		`return tostring(getmetatable("").upper) .. tostring(rawequal(getmetatable(""), getmetatable("x")))`: "niltrue",
	} {
		if got := runChunk(t, st, code); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", code, got, want)
		}
	}
}

// TestGlobalWritesReachEverySession checks Momentum's scoping whatever
// the spelling of the write: thrLua runs every session on one global
// state, so a global one session writes is what the next one reads. (A
// policy that must not share a value keeps it in self, _TLS or the
// validation context.)
func TestGlobalWritesReachEverySession(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"_G.x", `_G.reply_text = str`},
		{"plain assignment", `reply_text = str`},
		{"package.loaded built name", `package.loaded["_".."G"].reply_text = str`},
		{"rawset(_G)", `rawset(_G, "reply_text", str)`},
		{"loadstring", `loadstring("reply_text = ...")(str)`},
		{"coroutine", `coroutine.wrap(function() reply_text = str end)()`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := testRuntime(t, isolationScript(tc.body), Config{PoolSize: 1})
			s := twoSessions(t, rt, `return reply_text`)
			if s.err != nil || s.first == untouched {
				t.Fatalf("the first session's write did not happen: %q, %v", s.first, s.err)
			}
			if s.next != "evil/nil/nil" || s.probe != "evil" {
				t.Errorf("next session saw %q and %q; want the first session's write", s.next, s.probe)
			}
		})
	}
}
