package qp

import (
	"testing"

	"github.com/luamilter/luamilter/internal/luatest"
)

func TestLua(t *testing.T) {
	tests := []struct {
		name    string
		code    string
		wantErr string
	}{
		{"encode", `assert(msys.qp.encode("caf\195\169 = ok") == "caf=C3=A9 =3D ok")`, ""},
		{"decode", `assert(msys.qp.decode("caf=C3=A9 =3D ok=\r\n!") == "café = ok!")`, ""},
		{"long lines are soft broken", `
			local e = msys.qp.encode(string.rep("a", 100))
			assert(e:find("=\r\n") and msys.qp.decode(e) == string.rep("a", 100))`, ""},
		{"charset", `
			assert(msys.qp.encode("é", "iso-8859-1") == "=E9")
			assert(msys.qp.decode("=E9", "ISO-8859-1") == "é")`, ""},
		{"dot stuffing", `
			assert(msys.qp.encode(".a\n.b", nil, true) == "..a\r\n..b")
			assert(msys.qp.encode(".a\n.b") == ".a\r\n.b")`, ""},
		{"malformed escape is kept literally", `assert(msys.qp.decode("=ZZ a=") == "=ZZ a")`, ""},
		{"control byte raises", `msys.qp.decode("a\1b")`, "msys.qp.decode: invalid quoted-printable input"},
		{"unknown charset raises", `msys.qp.decode("a", "nope")`, `unknown charset "nope"`},
		{"wrong type raises", `msys.qp.encode(true)`, "string expected, got boolean"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			luatest.Check(t, luatest.NewState(t, New()), tc.code, tc.wantErr)
		})
	}
}
