package pcre

import "unicode/utf8"

// Invalid UTF-8 bytes 0x80..0xFF are carried through regexp2 as the low
// surrogates U+DC80..U+DCFF, which no valid UTF-8 input can decode to.
const (
	escapeBase = 0xDC00
	escapeLow  = 0xDC80
	escapeHigh = 0xDCFF
)

// ToRunes converts bytes to the rune form the engine matches on: valid UTF-8
// becomes its code points and every other byte b becomes U+DC00+b.
func ToRunes(s string) []rune {
	return appendRunes(make([]rune, 0, len(s)), s)
}

// appendRunes appends the rune form of s to out.
func appendRunes(out []rune, s string) []rune {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			out = append(out, rune(c))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, escapeBase+rune(c))
		} else {
			out = append(out, r)
		}
		i += size
	}
	return out
}

// FromRunes is the inverse of ToRunes: it returns the original bytes.
func FromRunes(rs []rune) string {
	buf := make([]byte, 0, len(rs))
	for _, r := range rs {
		switch {
		case r < utf8.RuneSelf:
			buf = append(buf, byte(r))
		case r >= escapeLow && r <= escapeHigh:
			buf = append(buf, byte(r-escapeBase))
		default:
			buf = utf8.AppendRune(buf, r)
		}
	}
	return string(buf)
}
