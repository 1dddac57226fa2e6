package dialect

import (
	"bytes"
	"math"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// newState returns a gopher-lua state with the helpers installed.
func newState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	InstallHelpers(L)
	return L
}

// run translates src, runs it as chunk "policy.lua" and returns its first
// result, or the error from translating, compiling or running it.
func run(t testing.TB, L *lua.LState, src string) (lua.LValue, error) {
	t.Helper()
	out, err := Translate("policy.lua", []byte(src))
	if err != nil {
		return nil, err
	}
	fn, err := L.Load(bytes.NewReader(out), "policy.lua")
	if err != nil {
		return nil, err
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		return nil, err
	}
	v := L.Get(-1)
	L.Pop(1)
	return v, nil
}

func num(v int64) lua.LValue { return lua.LNumber(float64(v)) }

func TestEvaluate(t *testing.T) {
	const setup = "local a, m = 0x5A, 0x10\n"
	tests := []struct {
		expr string
		want lua.LValue
	}{
		// thrLua priorities: | & ^^ like + -, << >> \ like * / %
		{"1 << 2 + 3", num(1<<2 + 3)},
		{"1 + 2 << 3", num(1 + 2<<3)},
		{"6 & 3 | 8", num((6 & 3) | 8)},
		{"6 | 3 & 8", num((6 | 3) & 8)},
		{"5 ^^ 3 & 1", num((5 ^ 3) & 1)},
		{"1 | 2 + 4", num((1 | 2) + 4)},
		{"0xF0 >> 4 * 2", num((0xF0 >> 4) * 2)},
		{"2 * 3 << 1", num((2 * 3) << 1)},
		{"2 ^ 3 & 3", num(8 & 3)},
		{"#'abc' << 1", num(6)},
		{"-1 >> 1", num(-1 >> 1)},
		{"- 8 >> 1", num(-8 >> 1)},
		{"~0", num(^0)},
		{"~5 & 0xFF", num(^5 & 0xFF)},
		{"~a ^^ a", num(^int64(0x5A) ^ 0x5A)},
		{"4294967295 & ~0", num(4294967295)},
		{"0xFFFFFFFF ^^ 0xFFFFFFFF", num(0)},
		{"1 << 40", num(1 << 40)},
		{"1 << 63", num(math.MinInt64)},
		{"1 << 64", num(1)},
		{"1 << -1", num(math.MinInt64)},
		{"-3.7 | 0", num(-3)},
		{"3.9 | 0", num(3)},
		{"7 \\ 2", num(3)},
		{"-7 \\ 2", num(-4)},
		{"7.5 \\ 2", num(3)},
		{"10 \\ 3 * 3", num(9)},
		{"1 \\ 0", lua.LNumber(math.Inf(1))},
		{"-1 \\ 0", lua.LNumber(math.Inf(-1))},
		{"a & 0x0F != 0", lua.LTrue},
		{"m & 0x0F != 0", lua.LFalse},
		{"(m & 0x0F) != 0", lua.LFalse},
		{"1 | 2 == 3", lua.LTrue},
		{"3 == 1 | 2", lua.LTrue},
		{"'a' .. 1 | 2", lua.LString("a3")},
		{"1 | 2 .. 'x'", lua.LString("3x")},
		{"'12' & 10", num(12 & 10)},
		{"'010' | 0", num(8)},
		{"' 0x10 ' | 0", num(16)},
		{"0644 | 0", num(0o644)},
		{"0644", num(420)},
		{"not nil and 1 | 2", num(3)},
		{"!nil", lua.LTrue},
		{"!(1 != 1)", lua.LTrue},
		{"math.max(1 | 2, 4 & 5)", num(4)},
		{"({1 | 2, k = 4 & 5})[1] + ({k = 4 & 5}).k", num(7)},
		{"(function(x) return x << 1 end)(3 \\ 1)", num(6)},
		{"setmetatable({}, {__and = function(x, y) return 'meta' end}) & 1", lua.LString("meta")},
		{"1 | setmetatable({}, {__or = function(x, y) return y end}) ~= nil", lua.LTrue},
		{"~setmetatable({}, {__not = function(x, y) return rawequal(x, y) end})", lua.LTrue},
		{"setmetatable({}, {__intdiv = function() return 'i' end}) \\ 2", lua.LString("i")},
		{"setmetatable({}, {__div = function() return 'd' end}) \\ 2", lua.LString("d")},
		{`"\x41\u00e9" == "A\195\169"`, lua.LTrue},
	}
	L := newState(t)
	for _, tc := range tests {
		got, err := run(t, L, setup+"return "+tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %v (%s), want %v", tc.expr, got, got.Type(), tc.want)
		}
	}
}

func TestEvaluateNaN(t *testing.T) {
	L := newState(t)
	got, err := run(t, L, "return 0 \\ 0")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := got.(lua.LNumber); !ok || !math.IsNaN(float64(n)) {
		t.Errorf("0 \\ 0 = %v, want nan", got)
	}
}

func TestHelperErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"local x = 1\nreturn x & nil", "policy.lua:2: attempt to perform bitwise operation on a nil value"},
		{"\n\nreturn {} | 1", "policy.lua:3: attempt to perform bitwise operation on a table value"},
		{"return 1 ^^ 'x'", "policy.lua:1: attempt to perform bitwise operation on a string value"},
		{"return ~true", "policy.lua:1: attempt to perform bitwise operation on a boolean value"},
		{"return 1 << print", "policy.lua:1: attempt to perform bitwise operation on a function value"},
		{"\nreturn 1 \\ {}", "policy.lua:2: attempt to perform arithmetic on a table value"},
	}
	L := newState(t)
	for _, tc := range tests {
		_, err := run(t, L, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Every call below reports the line it runs on; after translation each
// must still be on its own line.
func TestLinesPreserved(t *testing.T) {
	src := `local seen = {}
local function f(v) seen[#seen + 1] = debug.getinfo(2, "l").currentline; return v end
local x = f(3) |
  -- a comment between operands
  f(5) &
  ~f(6)
  ~= f(7) and
  "\x41" .. [[
]] .. (f(9)
  \ f(10)) << f(10)
local t = {f(11) | 0,
  k = f(12) ^^ 1}
if (f(13) & 0x0F) != 0 then seen[#seen + 1] = debug.getinfo(1, "l").currentline end
return table.concat(seen, " ")`
	L := newState(t)
	got, err := run(t, L, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := "3 5 6 7 9 10 10 11 12 13 13"; got.String() != want {
		t.Errorf("lines = %q, want %q", got, want)
	}
	out, err := Translate("policy.lua", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := strings.Count(src, "\n"), bytes.Count(out, []byte("\n")); a != b {
		t.Errorf("output has %d newlines, input %d", b, a)
	}
}

func TestErrorLines(t *testing.T) {
	tests := []struct{ name, src, want string }{
		// found by Translate itself, as the chunk has thrLua operators
		{"syntax error with operators", "local x = a &\n  b |\n  c\n\n\nlocal = 5", "policy.lua:6:"},
		// found by gopher-lua, as no expression needed rewriting
		{"syntax error after rewrites", "local s = '\\x41'\nif a != b then\nend\nlocal = 5", "policy.lua line:4("},
		{"runtime error", "local x = 1 |\n 2 &\n 3\n\nerror('boom')", "policy.lua:5: boom"},
		{"runtime error in operand", "local x = 1 |\n 2 &\n nil", "policy.lua:"},
	}
	L := newState(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, L, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Scripts in the shape of Momentum's documentation examples.
func TestMomentumExamples(t *testing.T) {
	src := `local msys = {core = {O_CREAT = 0x40, O_APPEND = 0x400, O_WRONLY = 0x1}}
local str = "MAIL FROM:<disconnect@example.com>"
local out = {}
if string.find(str, "disconnect@example.com") != nil then
  out[#out + 1] = "found"
end
local flags = msys.core.O_CREAT | msys.core.O_APPEND | msys.core.O_WRONLY
out[#out + 1] = flags
local a = 0x1F
if (a & 0x0F) != 0 then out[#out + 1] = "low" end
if a & 0x20 != 0 then out[#out + 1] = "bit5" end
local mode = 0644 -- octal, like thrLua
out[#out + 1] = mode
return table.concat(out, ",")`
	L := newState(t)
	got, err := run(t, L, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := "found,1089,low,420"; got.String() != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHelperNames(t *testing.T) {
	helpers := Helpers()
	names := HelperNames()
	if len(helpers) != len(names) {
		t.Fatalf("%d helpers, %d names", len(helpers), len(names))
	}
	L := newState(t)
	for _, name := range names {
		if helpers[name] == nil {
			t.Errorf("no helper %s", name)
		}
		if L.GetGlobal(name).Type() != lua.LTFunction {
			t.Errorf("InstallHelpers did not define %s", name)
		}
	}
}
