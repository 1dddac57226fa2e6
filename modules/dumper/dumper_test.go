package dumper

import (
	"os/exec"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/luatest"
)

func newState(t *testing.T) *lua.LState {
	t.Helper()
	return luatest.NewState(t, New())
}

func dump(t *testing.T, L *lua.LState, expr string) string {
	t.Helper()
	if err := L.DoString("out = msys.dumper.Dumper(" + expr + ")"); err != nil {
		t.Fatal(err)
	}
	return L.GetGlobal("out").String()
}

func TestDumper(t *testing.T) {
	tests := []struct{ name, expr, want string }{
		{"nil", `nil`, `return nil`},
		{"string", `"a\"b\\c\n\0\1é"`, `return "a\"b\\c\n\000\001é"`},
		{"numbers", `{1, -2.5, 1e300, 0/0, 1/0, -1/0}`,
			"return {\n  1,\n  -2.5,\n  1.0000000000000001e+300,\n  0/0,\n  math.huge,\n  -math.huge\n}"},
		{"empty", `{}`, `return {}`},
		{"row", `{ recipient = "no-reply@mydomain.com", note = "No email", code = "550" }`,
			"return {\n  code = \"550\",\n  note = \"No email\",\n  recipient = \"no-reply@mydomain.com\"\n}"},
		{"mixed keys sorted", `{"a", "b", [10] = 1, ["x y"] = 2, ["end"] = 3, [true] = 4, z = {1}}`,
			"return {\n  \"a\",\n  \"b\",\n  [10] = 1,\n  [\"end\"] = 3,\n  [\"x y\"] = 2,\n  z = {\n    1\n  },\n  [true] = 4\n}"},
		{"varname", `{1}, "res"`, "res = {\n  1\n}"},
		{"function and coroutine", `{print, coroutine.create(function() end)}`,
			"return {\n  nil --[[function]],\n  nil --[[thread]]\n}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dump(t, newState(t), tc.expr); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestCycleAndUserdata(t *testing.T) {
	L := newState(t)
	ud := L.NewUserData()
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("ec_message"))
	ud.Metatable = mt
	L.SetGlobal("msg", ud)
	got := dump(t, L, `(function() local t = {m = msg}; t.self = t; return t end)()`)
	want := "return {\n  m = nil --[[ec_message]],\n  self = nil --[[cycle]]\n}"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Shared but acyclic tables are written out at each place.
	if got := dump(t, L, `(function() local s = {1}; return {s, s} end)()`); strings.Contains(got, "cycle") {
		t.Fatalf("shared table reported as cycle:\n%s", got)
	}
}

func TestTooDeep(t *testing.T) {
	L := newState(t)
	got := dump(t, L, `(function() local t = {}; for i = 1, 100 do t = {t} end; return t end)()`)
	if !strings.Contains(got, "nil --[[too deep]]") {
		t.Fatal("deep nesting not cut off")
	}
}

// TestReloadsInLua51 checks that the output is valid Lua 5.1 that rebuilds
// the value, using the reference interpreter.
func TestReloadsInLua51(t *testing.T) {
	lua51, err := exec.LookPath("lua5.1")
	if err != nil {
		t.Skip("lua5.1 not installed")
	}
	L := newState(t)
	text := dump(t, L, `{ "x\r\n\"y\"\0", 3.25, nested = { ["a-b"] = { true, false } }, [2.5] = "k" }`)
	check := `local v = (function() ` + text + ` end)()
assert(v[1] == "x\r\n\"y\"\0" and v[2] == 3.25, "array")
assert(v.nested["a-b"][1] == true and v.nested["a-b"][2] == false, "nested")
assert(v[2.5] == "k", "number key")
print("ok")`
	out, err := exec.Command(lua51, "-e", check).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("lua5.1 rejected the dump: %v\n%s\n%s", err, out, text)
	}
}
