package txn

import (
	"mime"
	"strings"

	"github.com/luamilter/luamilter/internal/charset"
)

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// DecodeHeader unfolds a raw value and decodes RFC 2047 words. Values
// that aren't valid encoded words are returned byte for byte.
func DecodeHeader(raw string) string {
	v := strings.TrimLeft(raw, " \t")
	v = strings.ReplaceAll(v, "\r\n", "\n")
	v = strings.ReplaceAll(v, "\n\t", " ")
	v = strings.ReplaceAll(v, "\n ", " ")
	v = strings.ReplaceAll(v, "\n", "")
	if !strings.Contains(v, "=?") {
		return v
	}
	dec, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return dec
}

// EncodeHeader turns a script's value into a raw field value: non-ASCII
// text gets RFC 2047 encoded, and the conventional space is added.
func EncodeHeader(v string) string {
	v = FoldLines(v)
	if IsASCII(v) {
		return " " + v
	}
	// mime's encoder splits long text into encoded words of at most 75
	// characters separated by spaces; fold there to keep lines short.
	enc := mime.QEncoding.Encode("utf-8", v)
	if len(enc) <= 76 {
		return " " + enc
	}
	return " " + strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// FoldLines makes every line break in a value a fold (CRLF + blank), so
// a script's "a\r\nBcc: x" can't start a header field of its own, and
// drops empty lines, which would end the header block.
func FoldLines(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	lines := strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' })
	for i := 1; i < len(lines); i++ {
		if lines[i][0] != ' ' && lines[i][0] != '\t' {
			lines[i] = " " + lines[i]
		}
	}
	return strings.Join(lines, "\r\n")
}
