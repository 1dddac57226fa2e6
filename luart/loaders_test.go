package luart

import (
	"strings"
	"testing"
)

// TestLoadersTranslateDialect checks that loadstring and load compile
// Momentum's dialect as script files are compiled, keep chunk names and
// line numbers, answer nil and a message on a syntax error, and still
// refuse precompiled chunks.
func TestLoadersTranslateDialect(t *testing.T) {
	_, st := testState(t, `msys.registerModule("loaders", {})`)
	// reader returns a load reader over the pieces of its arguments.
	const reader = `local function reader(...)
  local parts, i = {...}, 0
  return function() i = i + 1; return parts[i] end
end
`
	tests := []struct {
		name, code, want string
	}{
		{"not equal", `return loadstring("return 1 != 2")()`, "true"},
		{"unary bang", `return loadstring("return !nil")()`, "true"},
		{"bitwise", `return loadstring("return 6 & 3 | 8 ^^ 1")()`, "11"},
		{"shift and intdiv", `return loadstring("return (1 << 4) \\ 3 + ~0")()`, "4"},
		{"hex escape", `return loadstring("return '\\x41\\u00e9'")()`, "A\u00e9"},
		{"octal", `return loadstring("return 0644")()`, "420"},
		{"chunk name and line", `local f = loadstring("local a = 1\nlocal b = a & 1\nerror('boom')", "named")
			return select(2, pcall(f))`, "named:3: boom"},
		{"default chunk name", `return select(2, pcall(loadstring("\nerror('x')")))`, "<string>:2: x"},
		{"syntax error", `local f, e = loadstring("x = = 1", "bad")
			return tostring(f) .. " " .. e`, "nil bad"},
		{"dialect error", `local f, e = loadstring("x = 1\ns = '\\xZZ'", "bad")
			return tostring(f) .. " " .. e`, `nil bad:2: invalid escape sequence '\xZZ'`},
		{"dialect parse error", `local f, e = loadstring("x = 1\ny = 1 &", "bad")
			return tostring(f) .. " " .. e`, "nil bad:2: unexpected symbol near '<eof>'"},
		{"precompiled", `local f, e = loadstring("\27Lua\81\0\1\4\8\4\8\0", "bin")
			return tostring(f) .. " " .. e`, "nil bin: precompiled chunks are not accepted"},
		{"__iter", `return loadstring("local n = 0 for i in setmetatable({}, {__iter = function() return ipairs({1, 2}) end}) do n = n + i end return n")()`, "3"},
		{"load pieces", reader + `return load(reader("return 1 ", "!= 2"))()`, "true"},
		{"load token split", reader + `return load(reader("return 1 !", "= 2"))()`, "true"},
		{"load chunk name", reader + `local f = load(reader("\n", "error('y')"), "pieces")
			return select(2, pcall(f))`, "pieces:2: y"},
		{"load empty piece ends", reader + `return load(reader("return 5", "", "+ 1"))()`, "5"},
		{"load syntax error", reader + `local f, e = load(reader("return &"), "lbad")
			return tostring(f) .. " " .. e`, "nil lbad:1: unexpected symbol"},
		{"load bad reader", `local f, e = load(function() return {} end)
			return tostring(f) .. " " .. e`, "nil reader function must return a string"},
		{"load precompiled", reader + `local f, e = load(reader("\27Lua"), "lbin")
			return tostring(f) .. " " .. e`, "nil lbin: precompiled chunks are not accepted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := runChunk(t, st, tc.code); !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
