// Package base64 implements the msys.base64 Lua library:
//
//	encoded = msys.base64.encode(original[, fold[, charset]])
//	decoded = msys.base64.decode(encoded[, charset])
//
// encode converts original from UTF-8 to charset first when one is given
// (default UTF-8, i.e. bytes are used as they are), then base64-encodes it;
// when fold is true the output gets a CRLF after every 76 characters
// (none after the last line). decode ignores blanks and line breaks, accepts
// input with or without "=" padding, raises a Lua error on anything else
// that is not base64, and converts the result from charset to UTF-8 when a
// charset is given. Charsets are converted by internal/charset, as
// msg:text() converts them: WHATWG names, but US-ASCII is 7-bit; an
// unknown name, or text the charset can not represent, raises a Lua error.
//
// original may also be a value with a __tostring metamethod (Momentum
// accepts its _ec_string objects here).
//
// FromUTF8 and ToUTF8 are exported for other msys libraries that take a
// charset argument.
package base64

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/luamilter/luamilter/luart"
	lua "github.com/yuin/gopher-lua"
)

// LineLength is where encode folds its output.
const LineLength = 76

// New returns the msys.base64 library.
func New() luart.Library {
	return luart.Funcs("msys.base64", map[string]lua.LGFunction{"encode": luaEncode, "decode": luaDecode})
}

// Encode returns base64 of s, folded with CRLF every 76 characters if fold.
func Encode(s string, fold bool) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	if !fold || len(enc) <= LineLength {
		return enc
	}
	var b strings.Builder
	for len(enc) > LineLength {
		b.WriteString(enc[:LineLength])
		b.WriteString("\r\n")
		enc = enc[LineLength:]
	}
	b.WriteString(enc)
	return b.String()
}

// Decode decodes base64 text, ignoring blanks and line breaks and
// accepting missing padding.
func Decode(s string) (string, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	enc := base64.StdEncoding
	if !strings.HasSuffix(clean, "=") && len(clean)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out, err := enc.DecodeString(clean)
	if err != nil {
		return "", fmt.Errorf("invalid base64 input: %w", err)
	}
	return string(out), nil
}

// StringArg returns argument n as a string: strings, numbers and values
// with a __tostring metamethod are accepted; anything else raises.
func StringArg(L *lua.LState, n int) string {
	v := L.Get(n)
	switch v.Type() {
	case lua.LTString, lua.LTNumber:
		return v.String()
	case lua.LTUserData, lua.LTTable:
		if L.GetMetaField(v, "__tostring") != lua.LNil {
			return L.ToStringMeta(v).String()
		}
	}
	L.TypeError(n, lua.LTString)
	return ""
}

func luaEncode(L *lua.LState) int {
	s := StringArg(L, 1)
	fold := lua.LVAsBool(L.Get(2))
	s, err := FromUTF8(s, L.OptString(3, ""))
	if err != nil {
		L.RaiseError("msys.base64.encode: %s", err.Error())
	}
	L.Push(lua.LString(Encode(s, fold)))
	return 1
}

func luaDecode(L *lua.LState) int {
	out, err := Decode(StringArg(L, 1))
	if err == nil {
		out, err = ToUTF8(out, L.OptString(2, ""))
	}
	if err != nil {
		L.RaiseError("msys.base64.decode: %s", err.Error())
	}
	L.Push(lua.LString(out))
	return 1
}
