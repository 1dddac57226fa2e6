package idn

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
		{"to_idn", `assert(msys.idn.to_idn("bücher.example") == "xn--bcher-kva.example")`, ""},
		{"to_idn chinese", `assert(msys.idn.to_idn("例子.测试") == "xn--fsqu00a.xn--0zwm56d")`, ""},
		{"to_utf8", `assert(msys.idn.to_utf8("xn--bcher-kva.example") == "bücher.example")`, ""},
		{"case folded", `assert(msys.idn.to_idn("Bücher.Example") == "xn--bcher-kva.example")`, ""},
		{"ascii and underscore unchanged", `assert(msys.idn.to_idn("_dmarc.example.com") == "_dmarc.example.com")`, ""},
		{"round trip", `
			local idn = msys.idn.to_idn("münchen.de")
			assert(msys.idn.to_utf8(idn) == "münchen.de")`, ""},
		{"bad punycode gives nil and message", `
			local r, err = msys.idn.to_utf8("xn--a.example")
			assert(r == nil and err:find("^msys.idn.to_utf8: "), err)`, ""},
		{"bidi violation gives nil and message", `
			local r, err = msys.idn.to_idn("a\215\144.example")
			assert(r == nil and err:find("msys.idn.to_idn"), err)`, ""},
		{"wrong type raises", `msys.idn.to_idn({})`, "string expected, got table"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			luatest.Check(t, luatest.NewState(t, New()), tc.code, tc.wantErr)
		})
	}
}
