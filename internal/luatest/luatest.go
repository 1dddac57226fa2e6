// Package luatest opens luart libraries into bare Lua states and runs
// snippets against them. The modules' tests share it so that each tests
// its library placed where the runtime places it, without the whole
// runtime around it.
package luatest

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// NewState returns a fresh Lua state, closed when t ends, with a global
// msys table and each of libs opened at its dotted name: "msys" merges the
// library's fields into msys, "msys.a.b" becomes msys.a.b, and any other
// name (such as "json") is a global.
func NewState(t testing.TB, libs ...luart.Library) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	L.SetGlobal("msys", L.NewTable())
	for _, lib := range libs {
		place(L, lib.Name(), lib.Open(L, &luart.Env{}))
	}
	return L
}

// place stores v at the dotted name, creating the tables on the way.
func place(L *lua.LState, name string, v lua.LValue) {
	if name == "msys" {
		msys := L.GetGlobal("msys").(*lua.LTable)
		if src, ok := v.(*lua.LTable); ok {
			src.ForEach(func(k, val lua.LValue) { msys.RawSet(k, val) })
		}
		return
	}
	parent := L.G.Global
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 {
		parent = L.FindTable(parent, name[:dot], 0).(*lua.LTable)
		name = name[dot+1:]
	}
	parent.RawSetString(name, v)
}

// Check runs code in L. With wantErr empty the code must succeed;
// otherwise it must fail with an error containing wantErr.
func Check(t testing.TB, L *lua.LState, code, wantErr string) {
	t.Helper()
	err := L.DoString(code)
	if wantErr == "" {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("error = %v, want it to contain %q", err, wantErr)
	}
}

// Eval runs "return <expr>" in L and renders the results with
// lua.LValue.String, separated by spaces. The stack is left as it was.
func Eval(L *lua.LState, expr string) (string, error) {
	return EvalWith(L, expr, lua.LValue.String)
}

// EvalWith is Eval with each result rendered by render.
func EvalWith(L *lua.LState, expr string, render func(lua.LValue) string) (string, error) {
	top := L.GetTop()
	if err := L.DoString("return " + expr); err != nil {
		return "", err
	}
	var out []string
	for i := top + 1; i <= L.GetTop(); i++ {
		out = append(out, render(L.Get(i)))
	}
	L.SetTop(top)
	return strings.Join(out, " "), nil
}
