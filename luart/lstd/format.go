package lstd

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// formatter is string.format bound to one state's limits.
type formatter struct {
	lim Limits
}

func (f *formatter) luaFormat(L *lua.LState) int {
	s, err := f.format(L)
	if err != "" {
		raise(L, "%s", err)
	}
	L.Push(lua.LString(s))
	return 1
}

const formatFlags = "-+ #0"

// format is a port of Lua 5.1's str_format. Deviation on purpose: %s
// converts its argument with tostring (honouring __tostring) instead of
// rejecting values that are not strings or numbers. Argument errors are
// raised directly; other errors are returned so luaFormat can raise them.
func (f *formatter) format(L *lua.LState) (string, string) {
	top := L.GetTop()
	arg := 1
	fs := checkString(L, arg, "format")
	var b strings.Builder
	max := f.lim.MaxStringSize
	for i := 0; i < len(fs); {
		if b.Len() > max {
			return "", tooLarge("string.format", b.Len(), max)
		}
		c := fs[i]
		i++
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i < len(fs) && fs[i] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		arg++
		if arg > top {
			argError(L, arg, "format", "no value")
		}
		sp, next, err := f.scanFormat(fs, i)
		if err != "" {
			return "", err
		}
		i = next
		conv := byte(0)
		if i < len(fs) {
			conv = fs[i]
			i++
		}
		switch conv {
		case 'c':
			// sprintf's output is appended with strlen, so a NUL byte
			// and anything padded after it disappear, as in C Lua.
			var item strings.Builder
			sp.pad(&item, "", string([]byte{byte(cInt(checkNumber(L, arg, "format")))}), false)
			b.WriteString(cString(item.String()))
		case 'd', 'i':
			sp.formatSigned(&b, cLong(checkNumber(L, arg, "format")))
		case 'o', 'u', 'x', 'X':
			sp.formatUnsigned(&b, conv, cULong(checkNumber(L, arg, "format")))
		case 'e', 'E', 'f', 'g', 'G':
			sp.formatFloat(&b, conv, checkNumber(L, arg, "format"))
		case 'q':
			q := checkString(L, arg, "format")
			if b.Len()+len(q) > max {
				return "", tooLarge("string.format", b.Len()+len(q), max)
			}
			addQuoted(&b, q)
		case 's':
			saved := L.GetTop()
			v, ok := toStringValue(tostringValue(L, L.Get(arg)))
			L.SetTop(saved)
			if !ok {
				return "", "'tostring' must return a string to 'format'"
			}
			if sp.prec < 0 && len(v) >= 100 {
				// C Lua copies long strings as they are, width ignored.
				if b.Len()+len(v) > max {
					return "", tooLarge("string.format", b.Len()+len(v), max)
				}
				b.WriteString(v)
				continue
			}
			v = cString(v)
			if sp.prec >= 0 && len(v) > sp.prec {
				v = v[:sp.prec]
			}
			sp.pad(&b, "", v, false)
		default:
			return "", "invalid option '%" + cString(string([]byte{conv})) + "' to 'format'"
		}
	}
	if b.Len() > max {
		return "", tooLarge("string.format", b.Len(), max)
	}
	return b.String(), ""
}

// scanFormat parses flags, width and precision starting at i, with Lua
// 5.1's limits: at most five flag characters and two digits each for width
// and precision (further capped by MaxFormatWidth).
func (f *formatter) scanFormat(fs string, i int) (spec, int, string) {
	sp := spec{prec: -1}
	start := i
	for i < len(fs) && strings.IndexByte(formatFlags, fs[i]) >= 0 {
		switch fs[i] {
		case '-':
			sp.minus = true
		case '+':
			sp.plus = true
		case ' ':
			sp.space = true
		case '#':
			sp.hash = true
		case '0':
			sp.zero = true
		}
		i++
	}
	if i-start > len(formatFlags) {
		return sp, i, "invalid format (repeated flags)"
	}
	sp.width, i = scan2Digits(fs, i)
	if i < len(fs) && fs[i] == '.' {
		sp.prec, i = scan2Digits(fs, i+1)
	}
	if i < len(fs) && isDigit(fs[i]) || sp.width > f.lim.MaxFormatWidth || sp.prec > f.lim.MaxFormatWidth {
		return sp, i, "invalid format (width or precision too long)"
	}
	return sp, i, ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func scan2Digits(fs string, i int) (int, int) {
	n := 0
	for k := 0; k < 2 && i < len(fs) && isDigit(fs[i]); k++ {
		n = n*10 + int(fs[i]-'0')
		i++
	}
	return n, i
}

// addQuoted is Lua 5.1's %q: only ", \, newline, CR and NUL are escaped.
func addQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '\n':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			b.WriteString(`\r`)
		case 0:
			b.WriteString(`\000`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
