package dialect

import (
	"errors"
	"fmt"
	"strconv"
)

// fixString rewrites the thrLua escapes "\xHH" and "\u..." in a quoted
// string literal (quotes included) as three-digit decimal escapes, which
// every Lua 5.1 reads the same way and which cannot absorb a following
// digit. Other escapes are copied unchanged.
func fixString(lit []byte) (string, bool, error) {
	var out []byte // nil until the first rewrite
	last := 0
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' || i+1 >= len(lit) {
			continue
		}
		var bytes []byte
		var n int // length of the escape after the backslash
		var err error
		switch lit[i+1] {
		case 'x':
			bytes, n, err = hexEscape(lit[i+2:])
		case 'u':
			bytes, n, err = unicodeEscape(lit[i+2:])
		default:
			i++ // skip the escaped byte so "\\x" stays a backslash and an x
			continue
		}
		if err != nil {
			return "", false, err
		}
		out = append(out, lit[last:i]...)
		for _, b := range bytes {
			out = fmt.Appendf(out, "\\%03d", b)
		}
		last = i + 1 + n
		i += n
	}
	if out == nil {
		return "", false, nil
	}
	out = append(out, lit[last:]...)
	return string(out), true, nil
}

// hexEscape decodes the "HH" of "\xHH"; thrLua requires exactly two digits.
func hexEscape(s []byte) ([]byte, int, error) {
	if len(s) < 2 || !isHex(s[0]) || !isHex(s[1]) {
		return nil, 0, fmt.Errorf(`invalid escape sequence '\x%s': \x needs two hex digits`, quoteFrag(s, 2))
	}
	v, _ := strconv.ParseUint(string(s[:2]), 16, 8)
	return []byte{byte(v)}, 1 + 2, nil
}

var errUnicodeDigits = errors.New(`unicode escape needs 4, 6 or 8 hex digits (\uXXXX, \uXXXXXX, \uXXXXXXXX) or \u{X...}`)

// unicodeEscape decodes what follows "\u". thrLua reads up to 8 hex digits
// greedily and accepts 4, 6 or 8 of them; "\u{...}" (Lua 5.3 style) is an
// extension that thrLua itself does not read.
func unicodeEscape(s []byte) ([]byte, int, error) {
	var v uint64
	var n int
	if len(s) > 0 && s[0] == '{' {
		j := 1
		for j < len(s) && isHex(s[j]) && j <= 8 {
			j++
		}
		if j == 1 || j >= len(s) || s[j] != '}' {
			return nil, 0, fmt.Errorf(`invalid escape sequence '\u%s': %w`, quoteFrag(s, j+1), errUnicodeDigits)
		}
		v, _ = strconv.ParseUint(string(s[1:j]), 16, 64)
		n = j + 1
	} else {
		for n < len(s) && n < 8 && isHex(s[n]) {
			n++
		}
		if n != 4 && n != 6 && n != 8 {
			return nil, 0, fmt.Errorf(`invalid escape sequence '\u%s': %w`, quoteFrag(s, n+1), errUnicodeDigits)
		}
		v, _ = strconv.ParseUint(string(s[:n]), 16, 64)
	}
	if v > 0x7fffffff {
		return nil, 0, fmt.Errorf(`invalid escape sequence '\u%s': unicode escape sequence too large`, quoteFrag(s, n))
	}
	return utf8Extended(uint32(v)), 1 + n, nil
}

// utf8Extended encodes c like thrLua: the original (RFC 2279) UTF-8 that
// allows surrogates and code points up to 0x7fffffff.
func utf8Extended(c uint32) []byte {
	switch {
	case c <= 0x7f:
		return []byte{byte(c)}
	case c <= 0x7ff:
		return []byte{0xc0 | byte(c>>6), 0x80 | byte(c&0x3f)}
	case c <= 0xffff:
		return []byte{0xe0 | byte(c>>12), 0x80 | byte(c>>6&0x3f), 0x80 | byte(c&0x3f)}
	case c <= 0x1fffff:
		return []byte{0xf0 | byte(c>>18), 0x80 | byte(c>>12&0x3f), 0x80 | byte(c>>6&0x3f), 0x80 | byte(c&0x3f)}
	case c <= 0x3ffffff:
		return []byte{0xf8 | byte(c>>24), 0x80 | byte(c>>18&0x3f), 0x80 | byte(c>>12&0x3f),
			0x80 | byte(c>>6&0x3f), 0x80 | byte(c&0x3f)}
	default:
		return []byte{0xfc | byte(c>>30), 0x80 | byte(c>>24&0x3f), 0x80 | byte(c>>18&0x3f),
			0x80 | byte(c>>12&0x3f), 0x80 | byte(c>>6&0x3f), 0x80 | byte(c&0x3f)}
	}
}

// quoteFrag returns up to n bytes of s for an error message, stopping at
// the string's closing quote.
func quoteFrag(s []byte, n int) string {
	if n > len(s) {
		n = len(s)
	}
	for i := 0; i < n; i++ {
		if s[i] == '"' || s[i] == '\'' {
			return string(s[:i])
		}
	}
	return string(s[:n])
}
