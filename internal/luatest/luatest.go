// Package luatest opens luart libraries the way production does and runs
// snippets against them. The modules' tests share it so that each tests
// its library as scripts see it: through luart.New's sandbox, with its
// table behind a read-only view, opened on first use or by require, and
// with the runtime's Env.
package luatest

import (
	"context"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// NewState returns the Lua thread of a luart runtime built with libs as
// its Config.Libraries, held by the test until it ends. Scripts' rules
// hold: "msys" merges a library's fields into msys, "msys.a.b" is
// msys.a.b once used or required, and any other name (such as "json") is
// a global only after require. Code run on it directly (Check, Eval) has
// no deadline and no CallInfo unless the test sets L's context.
func NewState(t testing.TB, libs ...luart.Library) *lua.LState {
	t.Helper()
	rt, err := luart.New(luart.Config{Libraries: libs, PoolSize: 1})
	if err != nil {
		t.Fatalf("luart runtime: %v", err)
	}
	st, err := rt.Acquire(context.Background())
	if err != nil {
		rt.Close()
		t.Fatalf("luart state: %v", err)
	}
	t.Cleanup(func() {
		rt.Release(st)
		rt.Close()
	})
	return st.L
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
