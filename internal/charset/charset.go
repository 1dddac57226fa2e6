// Package charset converts text between UTF-8 and the charsets MIME names,
// the same way for msg:text(), RFC 2047 header words and msys.base64 and
// msys.qp: names are looked up in the WHATWG index, as mail readers do,
// except US-ASCII, which MIME defines as 7-bit and WHATWG reads as
// windows-1252.
package charset

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// asciiNames are US-ASCII's names (IANA's aliases included).
var asciiNames = map[string]bool{
	"us-ascii": true, "ascii": true, "us": true, "iso646-us": true, "iso-ir-6": true, "ansi_x3.4-1968": true,
	"ansi_x3.4-1986": true, "iso_646.irv:1991": true, "ibm367": true, "cp367": true, "csascii": true,
}

// Normalize is the form of a charset name the lookups use: lower case,
// without surrounding blanks.
func Normalize(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// Lookup returns the encoding of a charset. It returns nil for the names
// whose bytes are taken as they are: the empty name, UTF-8 by any of its
// names, and US-ASCII (8-bit bytes in "US-ASCII" text are read as UTF-8,
// which is what such text usually is). ascii reports US-ASCII. The names
// WHATWG maps to its replacement encoding (ISO-2022-KR, HZ-GB-2312,
// ISO-2022-CN) are unknown: that encoding decodes any text to one U+FFFD
// and encodes to UTF-8.
func Lookup(name string) (enc encoding.Encoding, ascii bool, err error) {
	n := Normalize(name)
	if n == "" {
		return nil, false, nil
	}
	if asciiNames[n] {
		return nil, true, nil
	}
	e, err := htmlindex.Get(n)
	if err != nil || e == encoding.Replacement {
		return nil, false, fmt.Errorf("unknown charset %q", name)
	}
	if e == unicode.UTF8 {
		return nil, false, nil
	}
	return e, false, nil
}

// Known reports whether text in the charset can be converted.
func Known(name string) bool {
	_, _, err := Lookup(name)
	return err == nil
}

// Encode converts UTF-8 text to the charset. Text the charset can't
// represent is an error, US-ASCII's 8-bit characters included.
func Encode(s, name string) ([]byte, error) {
	enc, ascii, err := Lookup(name)
	switch {
	case err != nil:
		return nil, err
	case ascii:
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, fmt.Errorf("convert to %s: text is not ASCII", name)
			}
		}
		return []byte(s), nil
	case enc == nil:
		return []byte(s), nil
	}
	out, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("convert to %s: %w", name, err)
	}
	return out, nil
}

// Decode converts text in the charset to UTF-8. Bytes of a charset Lookup
// passes through are returned as they are, valid UTF-8 or not.
func Decode(b []byte, name string) ([]byte, error) {
	enc, _, err := Lookup(name)
	if err != nil || enc == nil {
		return b, err
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return nil, fmt.Errorf("convert from %s: %w", name, err)
	}
	return out, nil
}

// Reader converts text in the charset read from r to UTF-8; it is
// mime.WordDecoder's CharsetReader.
func Reader(name string, r io.Reader) (io.Reader, error) {
	enc, _, err := Lookup(name)
	if err != nil || enc == nil {
		return r, err
	}
	return enc.NewDecoder().Reader(r), nil
}
