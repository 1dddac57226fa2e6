package dialect

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/lua51"
)

// bigTable builds "return {...}" with n positional items, eight per line.
// gopher-lua looks constants up linearly, so the items are calls of the
// counter n() in several forms rather than n distinct literals; t[i] == i
// then also shows that evaluation order is kept.
func bigTable(n int, sep string) string {
	forms := []string{"n()", "(n())", "n() + 0", "-(-n())"}
	var b strings.Builder
	b.WriteString("return {")
	for i := 1; i <= n; i++ {
		b.WriteString(forms[i%len(forms)])
		b.WriteString(sep)
		if i%8 == 0 {
			b.WriteString("\n")
		}
	}
	b.WriteString("}")
	return b.String()
}

// runTable runs src with the globals n (a counter) and three (returns "x",
// "y", "z") and returns its table result.
func runTable(t *testing.T, src string) *lua.LTable {
	t.Helper()
	L := newState(t)
	count := 0
	L.SetGlobal("n", L.NewFunction(func(L *lua.LState) int {
		count++
		L.Push(lua.LNumber(count))
		return 1
	}))
	L.SetGlobal("three", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("x"))
		L.Push(lua.LString("y"))
		L.Push(lua.LString("z"))
		return 3
	}))
	v, err := run(t, L, src)
	if err != nil {
		t.Fatal(err)
	}
	tbl, ok := v.(*lua.LTable)
	if !ok {
		t.Fatalf("result is %s, want table", v.Type())
	}
	return tbl
}

func TestBigPositionalTables(t *testing.T) {
	for _, n := range []int{25551, 30000, 100000} {
		for _, sep := range []string{",", ";"} {
			t.Run(fmt.Sprintf("%d%s", n, sep), func(t *testing.T) {
				tbl := runTable(t, bigTable(n, sep))
				if got := tbl.Len(); got != n {
					t.Errorf("#t = %d, want %d", got, n)
				}
				for i := 1; i <= n; i++ {
					if got := tbl.RawGetInt(i); got != lua.LNumber(i) {
						t.Fatalf("t[%d] = %v, want %d", i, got, i)
					}
				}
				if got := tbl.RawGetInt(n + 1); got != lua.LNil {
					t.Errorf("t[%d] = %v, want nil", n+1, got)
				}
			})
		}
	}
}

// A big constructor mixing every kind of field, ending in a call whose
// three results must all be kept. The expected table is computed by
// replaying the counter in field order.
func TestBigMixedTable(t *testing.T) {
	const fields = 90000
	var b strings.Builder
	want := map[lua.LValue]lua.LValue{}
	count, pos := 0, 0
	next := func() lua.LNumber { count++; return lua.LNumber(count) }
	b.WriteString("return {")
	for i := 1; i <= fields; i++ {
		switch {
		case i%7 == 0: // keyed, negative so it never meets a positional index
			b.WriteString("[-n()] = n(), ")
			k := -next()
			want[k] = next()
		case i%11 == 0:
			b.WriteString("k = n() ; ") // the same key again and again: last wins
			want[lua.LString("k")] = next()
		case i%13 == 0:
			b.WriteString("nil, ")
			pos++
		case i%17 == 0:
			b.WriteString("three(),\n")
			pos++
			want[lua.LNumber(pos)] = lua.LString("x")
		default:
			b.WriteString("n(), ")
			pos++
			want[lua.LNumber(pos)] = next()
		}
	}
	b.WriteString("three(),}")
	for i, v := range []string{"x", "y", "z"} {
		want[lua.LNumber(pos+1+i)] = lua.LString(v)
	}
	tbl := runTable(t, b.String())
	got := 0
	tbl.ForEach(func(k, v lua.LValue) {
		got++
		if want[k] != v {
			t.Fatalf("t[%v] = %v, want %v", k, v, want[k])
		}
	})
	if got != len(want) {
		t.Errorf("table has %d entries, want %d", got, len(want))
	}
}

// gopher-lua re-stores the last batch of 50 positional items after a keyed
// field, from registers the keyed field has overwritten.
func TestKeyedAfterFiftyItems(t *testing.T) {
	items := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "%d, ", i)
		}
		return b.String()
	}
	tests := []struct {
		name, src string
		n         int
		extra     []string // positional values after 1..n
	}{
		{"one keyed", "return {" + items(1, 50) + "x = tostring(7)}", 50, nil},
		{"two keyed", "return {" + items(1, 50) + "x = tostring(7), y = tostring(8)}", 50, nil},
		{"keyed then more", "return {" + items(1, 100) + "x = tostring(7), " + items(101, 150) + "[tostring(1)] = 1}", 150, nil},
		{"last item call", "return {" + items(1, 49) + "tonumber('50'), x = tostring(7)}", 50, nil},
		{"final multi", "return {" + items(1, 50) + "x = tostring(7), three()}", 50, []string{"x", "y", "z"}},
		{"final multi after boundary", "return {" + items(1, 50) + "x = tostring(7); three();}", 50, []string{"x", "y", "z"}},
		{"call argument", "return (function(t) return t end){" + items(1, 50) + "x = tostring(7)}", 50, nil},
		{"string method call", "local s = ''\nreturn s.len and (function(t) return t end){" + items(1, 50) + "x = tostring(7), ...}", 50, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl := runTable(t, tc.src)
			for i := 1; i <= tc.n; i++ {
				if got := tbl.RawGetInt(i); got != lua.LNumber(i) {
					t.Fatalf("t[%d] = %v, want %d", i, got, i)
				}
			}
			for i, want := range tc.extra {
				if got := tbl.RawGetInt(tc.n + 1 + i); got != lua.LString(want) {
					t.Errorf("t[%d] = %v, want %q", tc.n+1+i, got, want)
				}
			}
			if got := tbl.Len(); got != tc.n+len(tc.extra) {
				t.Errorf("#t = %d, want %d", got, tc.n+len(tc.extra))
			}
			if got := tbl.RawGetString("x"); got != lua.LString("7") {
				t.Errorf("t.x = %v, want 7", got)
			}
		})
	}
}

func TestSmallTablesUntouched(t *testing.T) {
	for _, src := range []string{
		bigTable(25000, ";"),
		"return {" + strings.Repeat("1, ", 49) + "x = f()}",
		"return {" + strings.Repeat("1, ", 51) + "x = f()}",
		"return {x = f(), " + strings.Repeat("1, ", 200) + "}",
	} {
		out, err := Translate("t", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != src {
			t.Errorf("constructor of %d bytes was rewritten", len(src))
		}
	}
}

func TestBigTableLines(t *testing.T) {
	src := bigTable(30000, ",")
	src = "local t = (function()\n" + src + "\nend)()\nlocal l = debug.getinfo(1, 'l').currentline\nreturn {l}"
	tbl := runTable(t, src)
	want := strings.Count(src, "\n") // the last line
	if got := tbl.RawGetInt(1); got != lua.LNumber(want) {
		t.Errorf("line = %v, want %d", got, want)
	}
}

// dumpLua prints a table as sorted "key=value" lines; it runs unchanged in
// lua5.1 and in gopher-lua.
const dumpLua = `
local count = 0
function n() count = count + 1; return count end
function three() return "x", "y", "z" end
local t = (function() %s end)()
local keys = {}
for k in pairs(t) do keys[#keys + 1] = k end
table.sort(keys, function(a, b)
  if type(a) ~= type(b) then return type(a) < type(b) end
  return a < b
end)
local out = {}
for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. "=" .. tostring(t[k]) end
return table.concat(out, "\n")
`

// TestTablesAgainstLua51 compares the tables built by translated code in
// gopher-lua with those the reference lua5.1 builds from the original.
func TestTablesAgainstLua51(t *testing.T) {
	luaBin := lua51.Path(t)
	fifty := strings.Repeat("n(), ", 50)
	tests := map[string]string{
		"positional 30000":   bigTable(30000, ";"),
		"keyed after 50":     "return {" + fifty + "x = n(), y = n(), " + fifty + "[n()] = n(), three()}",
		"call last in chunk": "return {" + strings.Repeat("n(), ", 49) + "three(), k = n(), three(), }",
		"mixed": func() string {
			var b strings.Builder
			b.WriteString("return {")
			for i := 1; i <= 60000; i++ {
				switch {
				case i%7 == 0:
					b.WriteString("[-n()] = n(), ")
				case i%11 == 0:
					b.WriteString("k = n(); ")
				case i%13 == 0:
					b.WriteString("nil, ")
				case i%17 == 0:
					b.WriteString("three(),\n")
				default:
					b.WriteString("n(), ")
				}
			}
			b.WriteString("three()}")
			return b.String()
		}(),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			prog := fmt.Sprintf(dumpLua, src)
			cmd := exec.Command(luaBin, "-e", "io.write((loadstring(io.read('*a'))()))")
			cmd.Stdin = strings.NewReader(prog)
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("lua5.1: %v", err)
			}
			L := lua.NewState(lua.Options{RegistrySize: 1 << 20}) // room for table.concat
			defer L.Close()
			InstallHelpers(L)
			got, err := run(t, L, prog)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("gopher-lua table differs from lua5.1 (%d vs %d bytes)", len(got.String()), len(want))
			}
		})
	}
}
