package luatest

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// named is a library whose table holds one field, who = its name.
type named string

func (n named) Name() string { return string(n) }

func (n named) Open(L *lua.LState, _ *luart.Env) lua.LValue {
	t := L.NewTable()
	t.RawSetString("who", lua.LString(n))
	return t
}

// TestNewStatePlacesLibraries checks that libraries are where scripts
// find them in production, behind read-only views.
func TestNewStatePlacesLibraries(t *testing.T) {
	tests := []struct {
		name string // library name
		expr string
		want string
	}{
		{"msys", "msys.who", "msys"},
		{"msys.qp", "msys.qp.who", "msys.qp"},
		{"msys.qp", `require("msys.qp").who`, "msys.qp"},
		{"msys.http.client", "msys.http.client.who", "msys.http.client"},
		{"json", `json, require("json").who, json.who, msys.who`, "nil json json nil"},
		{"msys.qp", `select(2, pcall(function() msys.qp.who = 1 end)):find("read-only", 1, true) ~= nil`, "true"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			L := NewState(t, named(tc.name))
			got, err := Eval(L, tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s = %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}

func TestEval(t *testing.T) {
	tests := []struct {
		expr    string
		render  func(lua.LValue) string
		want    string
		wantErr bool
	}{
		{expr: "1, 'a', nil", want: "1 a nil"},
		{expr: "", want: ""},
		{expr: "{}", render: func(v lua.LValue) string { return v.Type().String() }, want: "table"},
		{expr: "error('x')", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			L := NewState(t)
			var got string
			var err error
			if tc.render == nil {
				got, err = Eval(L, tc.expr)
			} else {
				got, err = EvalWith(L, tc.expr, tc.render)
			}
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("Eval(%q) = %q, %v; want %q, error %v", tc.expr, got, err, tc.want, tc.wantErr)
			}
			if !tc.wantErr && L.GetTop() != 0 {
				t.Errorf("stack holds %d values after Eval", L.GetTop())
			}
		})
	}
}

func TestCheck(t *testing.T) {
	L := NewState(t)
	Check(t, L, "x = 1", "")
	Check(t, L, "error('boom')", "boom")
}
