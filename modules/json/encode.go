package json

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// kindOf returns "object" or "array" for JSON containers, "" otherwise.
func kindOf(v lua.LValue) string {
	t, ok := v.(*lua.LTable)
	if !ok {
		return ""
	}
	mt, ok := t.Metatable.(*lua.LTable)
	if !ok {
		return ""
	}
	kind, _ := mt.RawGetString(kindKey).(lua.LString)
	return string(kind)
}

func isNull(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return false
	}
	_, ok = ud.Value.(null)
	return ok
}

// isArrayish applies Momentum's rule to a plain table: it is an array when
// index 1 holds a value.
func isArrayish(t *lua.LTable) bool { return t.RawGetInt(1) != lua.LNil }

// fromLua copies a plain table into JSON containers; JSON containers are
// kept by reference and scalars are returned unchanged.
func (s *state) fromLua(L *lua.LState, v lua.LValue, depth int, seen map[*lua.LTable]bool) (lua.LValue, error) {
	switch v.Type() {
	case lua.LTNil, lua.LTBool, lua.LTNumber, lua.LTString:
		return v, nil
	case lua.LTUserData:
		if isNull(v) {
			return v, nil
		}
	case lua.LTTable:
		t := v.(*lua.LTable)
		if kindOf(t) != "" {
			return t, nil
		}
		if depth >= s.opts.MaxDepth {
			return nil, fmt.Errorf("json: value nested deeper than %d levels", s.opts.MaxDepth)
		}
		if seen[t] {
			return nil, fmt.Errorf("json: table contains itself")
		}
		seen[t] = true
		defer delete(seen, t)
		out := L.NewTable()
		if isArrayish(t) {
			out.Metatable = s.arrayMT
			for i := 1; ; i++ {
				e := t.RawGetInt(i)
				if e == lua.LNil {
					break
				}
				c, err := s.fromLua(L, e, depth+1, seen)
				if err != nil {
					return nil, err
				}
				out.RawSetInt(i, c)
			}
			return out, nil
		}
		out.Metatable = s.objectMT
		var err error
		t.ForEach(func(k, e lua.LValue) {
			if err != nil {
				return
			}
			var key string
			if key, err = keyString(k); err != nil {
				return
			}
			var c lua.LValue
			if c, err = s.fromLua(L, e, depth+1, seen); err == nil {
				out.RawSetString(key, c)
			}
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("json: cannot store a %s in JSON", v.Type().String())
}

func keyString(k lua.LValue) (string, error) {
	switch k.Type() {
	case lua.LTString:
		return string(k.(lua.LString)), nil
	case lua.LTNumber:
		return formatNumber(float64(k.(lua.LNumber)))
	case lua.LTBool:
		return k.String(), nil
	}
	return "", fmt.Errorf("json: cannot use a %s as an object key", k.Type().String())
}

// Marshal returns the compact JSON text of v with object keys sorted.
// It accepts JSON containers, plain tables (by Momentum's array rule),
// json.null, nil, booleans, numbers and strings.
func Marshal(v lua.LValue, maxDepth int) (string, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	e := &encoder{max: maxDepth, seen: map[*lua.LTable]bool{}}
	if err := e.value(v, 0); err != nil {
		return "", err
	}
	return e.b.String(), nil
}

type encoder struct {
	b    strings.Builder
	max  int
	seen map[*lua.LTable]bool
}

func (e *encoder) value(v lua.LValue, depth int) error {
	switch x := v.(type) {
	case *lua.LNilType:
		e.b.WriteString("null")
	case lua.LBool:
		e.b.WriteString(strconv.FormatBool(bool(x)))
	case lua.LNumber:
		s, err := formatNumber(float64(x))
		if err != nil {
			return err
		}
		e.b.WriteString(s)
	case lua.LString:
		writeString(&e.b, string(x))
	case *lua.LUserData:
		if !isNull(x) {
			return fmt.Errorf("json: cannot encode a userdata")
		}
		e.b.WriteString("null")
	case *lua.LTable:
		return e.table(x, depth)
	default:
		return fmt.Errorf("json: cannot encode a %s", v.Type().String())
	}
	return nil
}

func (e *encoder) table(t *lua.LTable, depth int) error {
	if depth >= e.max {
		return fmt.Errorf("json: value nested deeper than %d levels", e.max)
	}
	if e.seen[t] {
		return fmt.Errorf("json: table contains itself")
	}
	e.seen[t] = true
	defer delete(e.seen, t)
	kind := kindOf(t)
	if kind == "array" || (kind == "" && isArrayish(t)) {
		e.b.WriteByte('[')
		for i := 1; ; i++ {
			v := t.RawGetInt(i)
			if v == lua.LNil {
				break
			}
			if i > 1 {
				e.b.WriteByte(',')
			}
			if err := e.value(v, depth+1); err != nil {
				return err
			}
		}
		e.b.WriteByte(']')
		return nil
	}
	type pair struct {
		k string
		v lua.LValue
	}
	var pairs []pair
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err == nil {
			var ks string
			ks, err = keyString(k)
			pairs = append(pairs, pair{ks, v})
		}
	})
	if err != nil {
		return err
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	e.b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			e.b.WriteByte(',')
		}
		writeString(&e.b, p.k)
		e.b.WriteByte(':')
		if err := e.value(p.v, depth+1); err != nil {
			return err
		}
	}
	e.b.WriteByte('}')
	return nil
}

func formatNumber(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("json: cannot encode %v", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10), nil
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

const hexDigits = "0123456789abcdef"

func writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
}
