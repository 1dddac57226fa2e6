// Package qp implements the msys.qp Lua library:
//
//	encoded = msys.qp.encode(original[, charset[, dotstuff]])
//	decoded = msys.qp.decode(encoded[, charset])
//
// encode converts original from UTF-8 to charset when one is given, then
// quoted-printable encodes it (RFC 2045, mime/quotedprintable: lines of at
// most 76 characters, CRLF line breaks, soft breaks as "=" CRLF). With
// dotstuff true, every output line starting with "." gets a second "." so
// the text can be written straight into an SMTP DATA stream. decode
// converts the result from charset to UTF-8 when one is given. As RFC 2045
// section 6.7 advises, decode keeps a malformed escape such as "=ZZ" as
// literal text; unescaped control characters, text after a soft line
// break's "=", and unknown charsets raise a Lua error.
// Charsets are handled as in package base64.
package qp

import (
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/base64"
	lua "github.com/yuin/gopher-lua"
)

// New returns the msys.qp library.
func New() luart.Library {
	return luart.Funcs("msys.qp", map[string]lua.LGFunction{"encode": luaEncode, "decode": luaDecode})
}

// Encode quoted-printable encodes s, dot-stuffing lines when dotstuff.
func Encode(s string, dotstuff bool) string {
	var b strings.Builder
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(s)) // a strings.Builder never fails
	_ = w.Close()
	out := b.String()
	if !dotstuff {
		return out
	}
	if strings.HasPrefix(out, ".") {
		out = "." + out
	}
	return strings.ReplaceAll(out, "\r\n.", "\r\n..")
}

// Decode decodes quoted-printable text.
func Decode(s string) (string, error) {
	out, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(s)))
	if err != nil {
		return "", fmt.Errorf("invalid quoted-printable input: %w", err)
	}
	return string(out), nil
}

func luaEncode(L *lua.LState) int {
	s := base64.StringArg(L, 1)
	s, err := base64.FromUTF8(s, L.OptString(2, ""))
	if err != nil {
		L.RaiseError("msys.qp.encode: %s", err.Error())
	}
	L.Push(lua.LString(Encode(s, lua.LVAsBool(L.Get(3)))))
	return 1
}

func luaDecode(L *lua.LState) int {
	out, err := Decode(base64.StringArg(L, 1))
	if err == nil {
		out, err = base64.ToUTF8(out, L.OptString(2, ""))
	}
	if err != nil {
		L.RaiseError("msys.qp.decode: %s", err.Error())
	}
	L.Push(lua.LString(out))
	return 1
}
