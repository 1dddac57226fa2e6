// Package dumper implements the msys.dumper Lua library:
//
//	text = msys.dumper.Dumper(value[, varname])
//
// The result is Lua source that rebuilds value, in the spirit of the
// DataDumper module Momentum ships: "return <literal>", or
// "varname = <literal>" when varname is given. Tables are written one entry
// per line, indented by two spaces per level: first the array part 1..n
// without keys, then the other keys sorted (numbers ascending, then strings,
// then booleans), identifier-like string keys as name = and all others as
// [key] =. Strings are quoted like Lua's %q, except that line breaks and
// other control bytes are written as \n, \r or \ddd so every entry stays on
// one line. Numbers are written exactly (integers without a fraction,
// 0/0 and math.huge for NaN and infinity).
//
// Values a literal can not express are written as nil followed by a
// comment: a table that contains itself gives nil --[[cycle]], functions
// nil --[[function]], coroutines nil --[[thread]] and userdata
// nil --[[name]] where name is the metatable's __name (or "userdata").
// Nesting deeper than MaxDepth gives nil --[[too deep]]. Metatables are not
// followed. Output never contains addresses, so it is deterministic.
package dumper

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/luamilter/luamilter/luart"
	lua "github.com/yuin/gopher-lua"
)

// MaxDepth is the deepest table nesting written out.
const MaxDepth = 64

// New returns the msys.dumper library.
func New() luart.Library {
	return luart.Funcs("msys.dumper", map[string]lua.LGFunction{"Dumper": luaDumper})
}

func luaDumper(L *lua.LState) int {
	prefix := "return "
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		prefix = L.CheckString(2) + " = "
	}
	L.Push(lua.LString(prefix + Dump(L.Get(1))))
	return 1
}

// Dump returns the Lua literal for v, without the "return " prefix.
func Dump(v lua.LValue) string {
	d := &dumper{seen: map[*lua.LTable]bool{}}
	d.value(v, 0)
	return d.b.String()
}

type dumper struct {
	b    strings.Builder
	seen map[*lua.LTable]bool
}

func (d *dumper) value(v lua.LValue, depth int) {
	switch x := v.(type) {
	case *lua.LNilType:
		d.b.WriteString("nil")
	case lua.LBool:
		d.b.WriteString(strconv.FormatBool(bool(x)))
	case lua.LNumber:
		d.b.WriteString(number(float64(x)))
	case lua.LString:
		quote(&d.b, string(x))
	case *lua.LTable:
		d.table(x, depth)
	case *lua.LFunction:
		d.b.WriteString("nil --[[function]]")
	case *lua.LState:
		d.b.WriteString("nil --[[thread]]")
	case *lua.LUserData:
		name := "userdata"
		if mt, ok := x.Metatable.(*lua.LTable); ok {
			if n, ok := mt.RawGetString("__name").(lua.LString); ok && n != "" {
				name = string(n)
			}
		}
		d.b.WriteString("nil --[[" + strings.ReplaceAll(name, "]]", "] ]") + "]]")
	default:
		d.b.WriteString("nil --[[" + v.Type().String() + "]]")
	}
}

func (d *dumper) table(t *lua.LTable, depth int) {
	if d.seen[t] {
		d.b.WriteString("nil --[[cycle]]")
		return
	}
	if depth >= MaxDepth {
		d.b.WriteString("nil --[[too deep]]")
		return
	}
	d.seen[t] = true
	defer delete(d.seen, t)

	n := 0
	for t.RawGetInt(n+1) != lua.LNil {
		n++
	}
	var keys []lua.LValue
	t.ForEach(func(k, _ lua.LValue) {
		if f, ok := k.(lua.LNumber); ok && f >= 1 && f <= lua.LNumber(n) && f == lua.LNumber(math.Trunc(float64(f))) {
			return
		}
		keys = append(keys, k)
	})
	if n == 0 && len(keys) == 0 {
		d.b.WriteString("{}")
		return
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	indent := strings.Repeat("  ", depth+1)
	d.b.WriteString("{\n")
	first := true
	sep := func() {
		if !first {
			d.b.WriteString(",\n")
		}
		first = false
		d.b.WriteString(indent)
	}
	for i := 1; i <= n; i++ {
		sep()
		d.value(t.RawGetInt(i), depth+1)
	}
	for _, k := range keys {
		sep()
		if s, ok := k.(lua.LString); ok && isIdent(string(s)) {
			d.b.WriteString(string(s))
		} else {
			d.b.WriteByte('[')
			d.value(k, depth+1)
			d.b.WriteByte(']')
		}
		d.b.WriteString(" = ")
		d.value(t.RawGet(k), depth+1)
	}
	d.b.WriteString("\n" + strings.Repeat("  ", depth) + "}")
}

// keyRank orders key types: numbers, strings, booleans, then the rest.
func keyRank(k lua.LValue) int {
	switch k.Type() {
	case lua.LTNumber:
		return 0
	case lua.LTString:
		return 1
	case lua.LTBool:
		return 2
	}
	return 3
}

func keyLess(a, b lua.LValue) bool {
	ra, rb := keyRank(a), keyRank(b)
	if ra != rb {
		return ra < rb
	}
	switch x := a.(type) {
	case lua.LNumber:
		return x < b.(lua.LNumber)
	case lua.LString:
		return x < b.(lua.LString)
	case lua.LBool:
		return !bool(x) && bool(b.(lua.LBool))
	}
	return a.Type().String() < b.Type().String()
}

var keywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true,
	"false": true, "for": true, "function": true, "if": true, "in": true, "local": true,
	"nil": true, "not": true, "or": true, "repeat": true, "return": true, "then": true,
	"true": true, "until": true, "while": true,
}

func isIdent(s string) bool {
	if s == "" || keywords[s] || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func number(f float64) string {
	switch {
	case math.IsNaN(f):
		return "0/0"
	case math.IsInf(f, 1):
		return "math.huge"
	case math.IsInf(f, -1):
		return "-math.huge"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\` + leftPad(strconv.Itoa(int(c))))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

func leftPad(s string) string { return strings.Repeat("0", 3-len(s)) + s }
