package lpattern

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func newState(t testing.TB, lim Limits) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	Install(L, L.GetGlobal("string").(*lua.LTable), lim)
	return L
}

// eval runs a chunk that returns one string and gives back that string or
// the error message.
func eval(t testing.TB, L *lua.LState, code string) (string, error) {
	t.Helper()
	if err := L.DoString(code); err != nil {
		return "", err
	}
	v := L.Get(-1)
	L.Pop(1)
	return lua.LVAsString(v), nil
}

func TestLuaResults(t *testing.T) {
	L := newState(t, Limits{})
	tests := []struct{ code, want string }{
		{`return table.concat({("hello"):find("l+")}, ",")`, "3,4"},
		{`return table.concat({string.find("a.b", ".", 1, true)}, ",")`, "2,2"},
		{`return tostring(string.find("abc", "x"))`, "nil"},
		{`return table.concat({string.match("k=v", "(%w)=()")}, ",")`, "k,3"},
		{`local t = {} for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do t[#t+1] = k..v end return table.concat(t, ",")`, "a1,b2"},
		{`local t = {} for w in string.gfind("x y", "%a") do t[#t+1] = w end return table.concat(t)`, "xy"},
		{`return (string.gsub("abc", "b", 1e15))`, "a1e+15c"},
		{`return (string.gsub("abc", "b", 0.5))`, "a0.5c"},
		{`return (string.gsub("aaa", "a", "b", 2^32 + 1))`, "baa"},
		{`return (string.gsub("aaa", "a", "b", -1))`, "aaa"},
		{`return (string.gsub("abc", "%w", {a = 1, b = false}))`, "1bc"},
		{`return (string.gsub("abc", "%w", setmetatable({}, {__index = function(_, k) return k:upper() end})))`, "ABC"},
		{`return (string.gsub("abc", "()(%w)", function(p, c) return p .. c end))`, "1a2b3c"},
		{`return (string.gsub("abc", "%w", function() end))`, "abc"},
		{`return select(2, string.gsub("abc", "", ""))`, "4"},
		{`return (string.find(12.5, "%."))`, "3"},
		{`return (string.find(1e15, "e"))`, "2"},
		{`return (string.find("abc", "b", "2"))`, "2"},
		// Method calls reach the installed functions through the string
		// metatable; gopher-lua's own matcher reads %f as a literal f.
		{`return (("THE (quick)"):match("%f[%a]%a+", 4))`, "quick"},
		{`return (("abc"):find("", 10))`, "4"},
	}
	for _, tt := range tests {
		got, err := eval(t, L, tt.code)
		if err != nil || got != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.code, got, err, tt.want)
		}
	}
}

func TestLuaErrors(t *testing.T) {
	L := newState(t, Limits{})
	tests := []struct{ code, want string }{
		{`string.find(nil, "a")`, "bad argument #1 to 'find' (string expected, got nil)"},
		{`string.match("a")`, "bad argument #2 to 'match' (string expected, got no value)"},
		{`string.find("a", "a", "z")`, "bad argument #3 to 'find' (number expected, got string)"},
		{`string.gsub("a", "a", true)`, "bad argument #3 to 'gsub' (string/function/table expected)"},
		{`string.gsub("a", "a", "b", {})`, "bad argument #4 to 'gsub' (number expected, got table)"},
		{`string.gmatch({}, "a")`, "bad argument #1 to 'gmatch' (string expected, got table)"},
		{`string.find("a", "%")`, "malformed pattern (ends with '%')"},
		{`string.match("a", "[a")`, "malformed pattern (missing ']')"},
		{`string.find("a", "%fa")`, "missing '[' after '%f' in pattern"},
		{`string.gsub("a", "(a)", "%2")`, "invalid capture index"},
		{`string.gsub("a", "a", {a = {}})`, "invalid replacement value (a table)"},
		{`string.gsub("a", "a", function() return true end)`, "invalid replacement value (a boolean)"},
		{`string.gsub("a", "a", function() error("from callback") end)`, "from callback"},
		{`for x in string.gmatch("a", "(a") do end`, "unfinished capture"},
		{`string.find(string.rep("a", 5000), string.rep(".-", 20) .. "x")`, msgSteps},
		{`string.find(string.rep("a", 5000), string.rep("a?", 5000) .. string.rep("a", 5000))`, msgRecursion},
	}
	for _, tt := range tests {
		_, err := eval(t, L, tt.code)
		if err == nil {
			t.Errorf("%s: no error, want %q", tt.code, tt.want)
			continue
		}
		msg := err.(*lua.ApiError).Object.String()
		// Messages carry the caller's position, like luaL_error's.
		if !strings.HasPrefix(msg, "<string>:1: ") || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: error %q, want %q after a position", tt.code, msg, tt.want)
		}
	}
}

func TestLuaGsubOutputLimit(t *testing.T) {
	L := newState(t, Limits{MaxOutput: 1 << 20})
	_, err := eval(t, L, `return (string.gsub(string.rep("a", 1000), "a", string.rep("b", 2000)))`)
	if err == nil || !strings.Contains(err.Error(), "gsub result too large") {
		t.Errorf("gsub over the output limit: %v", err)
	}
}

// TestLuaGsubManyReplacements runs a gsub that the quadratic original
// could not finish in reasonable time; BenchmarkGsub measures it.
func TestLuaGsubManyReplacements(t *testing.T) {
	L := newState(t, Limits{})
	got, err := eval(t, L, `local s, n = string.rep("a", 200000):gsub("a", "b") return #s .. " " .. n .. " " .. s:sub(1, 3)`)
	if err != nil || got != "200000 200000 bbb" {
		t.Errorf("gsub 200000 = %q, %v", got, err)
	}
}

// TestLuaGmatchIsLazy shows each iteration does only its own work: the
// first match is cheap, the search for a second one exceeds the budget.
func TestLuaGmatchIsLazy(t *testing.T) {
	L := newState(t, Limits{MaxSteps: 1000})
	got, err := eval(t, L, `
		local it = string.gmatch("a" .. string.rep(" ", 100000), "%a")
		local first = it()
		local ok, err = pcall(it)
		return first .. " " .. tostring(ok) .. " " .. err`)
	if err != nil || !strings.HasPrefix(got, "a false ") || !strings.HasSuffix(got, msgSteps) {
		t.Errorf("lazy gmatch = %q, %v", got, err)
	}
}
