package lstd

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// FuzzFormat checks that string.format never panics or hangs, whatever
// the format string and arguments; errors must be ordinary Lua errors.
func FuzzFormat(f *testing.F) {
	for _, s := range []string{"%d", "%5.2f", "%-+ #0x", "%q", "%s%s%s", "%", "%99.99f", "%100d", "%c", "%.0e", "%#o", "%i%u%X%G"} {
		f.Add(s, 3.5, "abc\x00")
	}
	lim := DefaultLimits()
	lim.MaxStringSize = 1 << 16
	L := newState(lim)
	defer L.Close()
	format := L.GetField(L.GetGlobal("string"), "format")
	f.Fuzz(func(t *testing.T, fs string, n float64, s string) {
		err := L.CallByParam(lua.P{Fn: format, NRet: 1, Protect: true},
			lua.LString(fs), lua.LNumber(n), lua.LString(s), lua.LNumber(-n))
		if err != nil {
			if ae, ok := err.(*lua.ApiError); !ok || ae.Type != lua.ApiErrorRun || strings.Contains(err.Error(), "runtime error") {
				t.Fatalf("string.format(%q, %v, %q) failed with a Go panic: %v", fs, n, s, err)
			}
			return
		}
		L.Pop(1)
	})
}

func BenchmarkFormat(b *testing.B) {
	L := newState(DefaultLimits())
	defer L.Close()
	fn, err := L.LoadString(`return string.format("%5.2f %d %s %x %q %g", 3.14159, 42, "hello", 255, "a\nb", 1e15)`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		L.Push(fn)
		L.Call(0, 1)
		L.Pop(1)
	}
}

func benchConcat(b *testing.B, n int, install bool) {
	L := lua.NewState()
	defer L.Close()
	if install {
		Install(L, DefaultLimits())
	}
	L.SetGlobal("n", lua.LNumber(n))
	if err := L.DoString(`t = {} for i = 1, n do t[i] = "item" .. i end`); err != nil {
		b.Fatal(err)
	}
	fn, err := L.LoadString(`return table.concat(t, ",")`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		L.Push(fn)
		if err := L.PCall(0, 1, nil); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
	}
}

// BenchmarkConcat100k joins 100,000 strings with the replacement.
func BenchmarkConcat100k(b *testing.B) { benchConcat(b, 100000, true) }

// BenchmarkConcat2k and BenchmarkConcat2kGopherLua compare the replacement
// with gopher-lua's table.concat, which cannot join many more items.
func BenchmarkConcat2k(b *testing.B)          { benchConcat(b, 2000, true) }
func BenchmarkConcat2kGopherLua(b *testing.B) { benchConcat(b, 2000, false) }
