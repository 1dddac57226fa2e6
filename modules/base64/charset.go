package base64

import "github.com/luamilter/luamilter/internal/charset"

// FromUTF8 converts UTF-8 text to the named charset (used before encoding).
// Characters the charset can not represent are an error; UTF-8 and the
// empty name pass the text through untouched.
func FromUTF8(s, cs string) (string, error) {
	b, err := charset.Encode(s, cs)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ToUTF8 converts text in the named charset to UTF-8 (used after
// decoding). UTF-8 and US-ASCII bytes are passed through untouched, so
// that invalid sequences are not replaced.
func ToUTF8(s, cs string) (string, error) {
	b, err := charset.Decode([]byte(s), cs)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
