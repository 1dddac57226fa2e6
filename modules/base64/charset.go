package base64

import (
	"fmt"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// lookupCharset returns the encoding for a MIME charset name, or nil for
// UTF-8 (and the empty name), whose bytes are passed through untouched so
// that invalid sequences are not replaced.
func lookupCharset(name string) (encoding.Encoding, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || n == "utf-8" || n == "utf8" {
		return nil, nil
	}
	enc, err := htmlindex.Get(n)
	if err != nil {
		return nil, fmt.Errorf("unknown charset %q", name)
	}
	if enc == unicode.UTF8 {
		return nil, nil
	}
	return enc, nil
}

// FromUTF8 converts UTF-8 text to the named charset (used before encoding).
// Characters the charset can not represent are an error.
func FromUTF8(s, charset string) (string, error) {
	enc, err := lookupCharset(charset)
	if err != nil || enc == nil {
		return s, err
	}
	out, err := enc.NewEncoder().String(s)
	if err != nil {
		return "", fmt.Errorf("convert to %s: %w", charset, err)
	}
	return out, nil
}

// ToUTF8 converts text in the named charset to UTF-8 (used after decoding).
func ToUTF8(s, charset string) (string, error) {
	enc, err := lookupCharset(charset)
	if err != nil || enc == nil {
		return s, err
	}
	out, err := enc.NewDecoder().String(s)
	if err != nil {
		return "", fmt.Errorf("convert from %s: %w", charset, err)
	}
	return out, nil
}
