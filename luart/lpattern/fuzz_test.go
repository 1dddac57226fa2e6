package lpattern

import (
	"errors"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// FuzzPattern checks that no input makes the functions panic or hang and
// that every failure is a pattern error, both from Go and from Lua.
func FuzzPattern(f *testing.F) {
	seeds := []struct{ s, p, r string }{
		{"hello world", "(%w+)", "<%1>"},
		{"x(a(b)c)y", "%b()", "%0%0"},
		{"THE (quick) fox", "%f[%a]%a+", "%"},
		{"aaa", "()a%1", "%2"},
		{"a\x00b", "[%z-]", "%%"},
		{"", "^$", ""},
		{"abc", "[]", "x"},
		{"abc", "(((a)", "x"},
	}
	for _, sd := range seeds {
		f.Add(sd.s, sd.p, sd.r, 1)
	}
	lim := Limits{MaxSteps: 20_000, MaxOutput: 1 << 16}
	L := lua.NewState()
	defer L.Close()
	Install(L, L.GetGlobal("string").(*lua.LTable), lim)
	f.Fuzz(func(t *testing.T, s, p, r string, init int) {
		check := func(what string, err error) {
			var pe *Error
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("%s(%q, %q): error %T %v is not a pattern error", what, s, p, err, err)
			}
		}
		_, _, _, err := Find(s, p, init, false, lim)
		check("Find", err)
		_, _, err = Match(s, p, init, lim)
		check("Match", err)
		_, _, err = Gsub(s, p, r, -1, lim)
		check("Gsub", err)
		it := Gmatch(s, p, lim)
		for range len(s) + 2 { // gmatch yields at most len(s)+1 matches
			_, ok, err := it.Next()
			check("Gmatch", err)
			if !ok || err != nil {
				break
			}
		}
		for _, name := range []string{"find", "match", "gsub"} {
			fn := L.GetField(L.GetGlobal("string"), name)
			err := L.CallByParam(lua.P{Fn: fn, NRet: lua.MultRet, Protect: true},
				lua.LString(s), lua.LString(p), lua.LString(r))
			L.SetTop(0)
			var ae *lua.ApiError
			if err != nil && (!errors.As(err, &ae) || ae.Type != lua.ApiErrorRun) {
				t.Fatalf("string.%s(%q, %q, %q): %v is not a Lua runtime error", name, s, p, r, err)
			}
		}
	})
}
