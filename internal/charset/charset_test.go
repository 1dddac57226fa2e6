package charset

import (
	"io"
	"strings"
	"testing"
)

// TestEncodeDecode covers the names the copies this package replaced
// treated differently: txn took US-ASCII as 7-bit and its 8-bit bytes as
// UTF-8, msys.base64 and msys.qp looked it up in the WHATWG index, which
// reads it as windows-1252.
func TestEncodeDecode(t *testing.T) {
	tests := []struct {
		charset  string
		text     string // UTF-8
		encoded  string // "" with encErr
		encErr   string
		decoded  string // Decode(encoded), when it differs from text
		decodeOf string // bytes to decode instead of encoded
	}{
		{charset: "", text: "é", encoded: "é"},
		{charset: "UTF-8", text: "é", encoded: "é"},
		{charset: " utf8 ", text: "é", encoded: "é"},
		{charset: "unicode-1-1-utf-8", text: "é", encoded: "é"},
		{charset: "utf-8", decodeOf: "\xff", decoded: "\xff"}, // invalid UTF-8 kept, not replaced
		{charset: "us-ascii", text: "plain", encoded: "plain"},
		{charset: "US-ASCII", text: "é", encErr: "convert to US-ASCII: text is not ASCII"},
		{charset: "ascii", text: "é", encErr: "text is not ASCII"},
		{charset: "us-ascii", decodeOf: "caf\xc3\xa9", decoded: "café"}, // 8-bit read as UTF-8, not windows-1252
		{charset: "iso-8859-1", text: "é", encoded: "\xe9"},
		{charset: "ISO-8859-1", text: "日本", encErr: "convert to ISO-8859-1"},
		{charset: "windows-1252", text: "€", encoded: "\x80"},
		{charset: "koi8-r", text: "Ж", encoded: "\xf6"},
		{charset: "shift_jis", text: "日本", encoded: "\x93\xfa\x96\x7b"},
		{charset: "klingon", text: "x", encErr: `unknown charset "klingon"`},
		// WHATWG maps these to its "replacement" encoding, which decodes
		// any text to one U+FFFD and encodes to UTF-8: every byte lost
		// one way, bytes that are not the charset the other.
		{charset: "iso-2022-kr", text: "日本", encErr: `unknown charset "iso-2022-kr"`},
		{charset: "hz-gb-2312", text: "x", encErr: `unknown charset "hz-gb-2312"`},
	}
	for _, tc := range tests {
		t.Run(tc.charset+" "+tc.text+tc.decodeOf, func(t *testing.T) {
			if tc.decodeOf == "" {
				got, err := Encode(tc.text, tc.charset)
				if tc.encErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.encErr) {
						t.Fatalf("Encode: %q, %v; want error %q", got, err, tc.encErr)
					}
					return
				}
				if err != nil || string(got) != tc.encoded {
					t.Fatalf("Encode: %q, %v; want %q", got, err, tc.encoded)
				}
			}
			in, want := tc.encoded, tc.text
			if tc.decodeOf != "" {
				in, want = tc.decodeOf, tc.decoded
			}
			got, err := Decode([]byte(in), tc.charset)
			if err != nil || string(got) != want {
				t.Fatalf("Decode(%q): %q, %v; want %q", in, got, err, want)
			}
			r, err := Reader(tc.charset, strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(r); string(b) != want {
				t.Fatalf("Reader(%q): %q; want %q", in, b, want)
			}
		})
	}
}

func TestKnown(t *testing.T) {
	for name, want := range map[string]bool{"": true, "utf-8": true, "us-ascii": true, "csASCII": true,
		"iso-8859-15": true, "gb2312": true, "x-unknown": false, "utf-7": false,
		"iso-2022-kr": false, "csiso2022kr": false, "hz-gb-2312": false, "iso-2022-cn": false, "iso-2022-cn-ext": false,
		"replacement": false} {
		if got := Known(name); got != want {
			t.Errorf("Known(%q) = %v, want %v", name, got, want)
		}
	}
}
