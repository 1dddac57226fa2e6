package lpattern

// Character classification follows the C library in the "C" locale, applied
// to single bytes: bytes 128-255 belong to no class. This is what a stock
// Lua 5.1 interpreter does, since lua.c never calls setlocale.
const (
	ctAlpha = 1 << iota
	ctDigit
	ctLower
	ctUpper
	ctSpace
	ctCntrl
	ctPunct
	ctXDigit
)

// ctype maps every byte to its class bits; it is never modified.
var ctype = buildCtype()

func buildCtype() [256]uint8 {
	var t [256]uint8
	for c := 0; c < 256; c++ {
		var f uint8
		switch {
		case c >= 'a' && c <= 'z':
			f |= ctAlpha | ctLower
		case c >= 'A' && c <= 'Z':
			f |= ctAlpha | ctUpper
		case c >= '0' && c <= '9':
			f |= ctDigit
		}
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			f |= ctXDigit
		}
		if c == ' ' || (c >= '\t' && c <= '\r') {
			f |= ctSpace
		}
		if c < 32 || c == 127 {
			f |= ctCntrl
		}
		if c > 32 && c < 127 && f&(ctAlpha|ctDigit) == 0 {
			f |= ctPunct
		}
		t[c] = f
	}
	return t
}

func isDigit(c byte) bool { return ctype[c]&ctDigit != 0 }
func isUpper(c byte) bool { return ctype[c]&ctUpper != 0 }

func toLower(c byte) byte {
	if isUpper(c) {
		return c + ('a' - 'A')
	}
	return c
}

// matchClass reports whether byte c belongs to the class named by the
// letter cl after a '%'. An upper-case letter negates the class; any
// other byte stands for itself (so "%%" matches '%' and "%g" matches 'g',
// Lua 5.1 having no %g class).
func matchClass(c, cl byte) bool {
	var res bool
	switch toLower(cl) {
	case 'a':
		res = ctype[c]&ctAlpha != 0
	case 'c':
		res = ctype[c]&ctCntrl != 0
	case 'd':
		res = ctype[c]&ctDigit != 0
	case 'l':
		res = ctype[c]&ctLower != 0
	case 'p':
		res = ctype[c]&ctPunct != 0
	case 's':
		res = ctype[c]&ctSpace != 0
	case 'u':
		res = ctype[c]&ctUpper != 0
	case 'w':
		res = ctype[c]&(ctAlpha|ctDigit) != 0
	case 'x':
		res = ctype[c]&ctXDigit != 0
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if isUpper(cl) {
		return !res
	}
	return res
}

// patAt returns the pattern byte at i, or 0 past the end. The reference
// implementation walks a NUL-terminated C string, and several checks
// ("ends with '%'", "missing ']'") rely on reading that terminator.
func (m *matcher) patAt(i int) byte {
	if i < len(m.pat) {
		return m.pat[i]
	}
	return 0
}

// classEnd returns the index just past the single-character class that
// starts at p, or -1 after recording a malformed-pattern error.
func (m *matcher) classEnd(p int) int {
	c := m.pat[p]
	p++
	switch c {
	case '%':
		if p >= len(m.pat) {
			m.fail("malformed pattern (ends with '%')")
			return -1
		}
		return p + 1
	case '[':
		if m.patAt(p) == '^' {
			p++
		}
		// The first byte of a set is taken literally, so "[]]" is a set
		// holding ']'.
		for {
			if p >= len(m.pat) {
				m.fail("malformed pattern (missing ']')")
				return -1
			}
			c := m.pat[p]
			p++
			if c == '%' && p < len(m.pat) {
				p++
			}
			if m.patAt(p) == ']' {
				return p + 1
			}
		}
	default:
		return p
	}
}

// matchBracketClass reports whether c is in the set that starts with '['
// at p and whose closing ']' is at ec.
func (m *matcher) matchBracketClass(c byte, p, ec int) bool {
	pat := m.pat
	sig := true
	if pat[p+1] == '^' {
		sig = false
		p++
	}
	for p++; p < ec; p++ {
		switch {
		case pat[p] == '%':
			p++
			if matchClass(c, pat[p]) {
				return sig
			}
		case pat[p+1] == '-' && p+2 < ec:
			p += 2
			if pat[p-2] <= c && c <= pat[p] {
				return sig
			}
		case pat[p] == c:
			return sig
		}
	}
	return !sig
}

// singleMatch reports whether c matches the class at [p, ep).
func (m *matcher) singleMatch(c byte, p, ep int) bool {
	switch m.pat[p] {
	case '.':
		return true
	case '%':
		return matchClass(c, m.pat[p+1])
	case '[':
		return m.matchBracketClass(c, p, ep-1)
	default:
		return m.pat[p] == c
	}
}
