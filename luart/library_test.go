package luart

import (
	"context"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestLibAndFuncs checks that the libraries Lib and Funcs define are
// placed by their names as any other Library is, with Env passed through.
func TestLibAndFuncs(t *testing.T) {
	answer := func(v string) lua.LGFunction {
		return func(L *lua.LState) int { L.Push(lua.LString(v)); return 1 }
	}
	setting := Lib("msys.setting", func(L *lua.LState, env *Env) lua.LValue {
		v, _ := env.Setting("greeting")
		t := L.NewTable()
		t.RawSetString("greeting", lua.LString(v))
		return t
	})
	tests := []struct {
		name string
		lib  Library
		code string
		want string
	}{
		{"Funcs below msys", Funcs("msys.x.y", map[string]lua.LGFunction{"f": answer("xy")}), `return msys.x.y.f()`, "xy"},
		{"Funcs merged into msys", Funcs("msys", map[string]lua.LGFunction{"g": answer("g")}), `return msys.g()`, "g"},
		{"Funcs as a global", Funcs("glob", map[string]lua.LGFunction{"h": answer("h")}), `require("glob") return glob.h()`, "h"},
		{"Funcs with no functions", Funcs("msys.empty", nil), `return type(require("msys.empty"))`, "table"},
		{"Lib gets Env", setting, `return msys.setting.greeting`, "hello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.lib.Name() == "" {
				t.Fatal("empty Name")
			}
			rt, err := New(Config{Libraries: []Library{tc.lib}, PoolSize: 1,
				Setting: func(name string) (string, bool) { return "hello", name == "greeting" }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(rt.Close)
			st, err := rt.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rt.Release(st) })
			if got := runChunk(t, st, tc.code); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.code, got, tc.want)
			}
		})
	}
}
