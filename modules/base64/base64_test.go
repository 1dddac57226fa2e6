package base64

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
		{"round trip", `
			assert(msys.base64.encode("hello") == "aGVsbG8=")
			assert(msys.base64.decode("aGVsbG8=") == "hello")
			assert(msys.base64.encode("") == "" and msys.base64.decode("") == "")`, ""},
		{"binary bytes", `
			local s = "\0\255\128abc"
			assert(msys.base64.decode(msys.base64.encode(s)) == s)`, ""},
		{"fold at 76 with CRLF", `
			local e = msys.base64.encode(string.rep("x", 100), true)
			local first, rest = e:match("^(.-)\r\n(.*)$")
			assert(#first == 76 and not rest:find("\r\n") and #rest == 136 - 76, e)
			assert(not msys.base64.encode(string.rep("x", 120)):find("\r\n"))
			assert(not msys.base64.encode(string.rep("x", 57), true):find("\r\n"))`, ""},
		{"decode folded and unpadded", `
			assert(msys.base64.decode("aGVs\r\nbG8=") == "hello")
			assert(msys.base64.decode("aGVsbG8") == "hello")`, ""},
		{"charset encode", `assert(msys.base64.encode("é", false, "ISO-8859-1") == "6Q==")`, ""},
		{"charset decode", `assert(msys.base64.decode("6Q==", "iso-8859-1") == "é")`, ""},
		{"utf-8 charset keeps bytes", `assert(msys.base64.decode(msys.base64.encode("\255", false, "UTF-8"), "utf-8") == "\255")`, ""},
		{"tostring objects accepted", `
			local o = setmetatable({}, {__tostring = function() return "hi" end})
			assert(msys.base64.encode(o) == "aGk=")`, ""},
		{"invalid base64 raises", `msys.base64.decode("a*b=")`, "msys.base64.decode: invalid base64 input"},
		{"truncated base64 raises", `msys.base64.decode("aGVsb=")`, "invalid base64 input"},
		{"unknown charset raises", `msys.base64.encode("x", false, "klingon")`, `unknown charset "klingon"`},
		{"unrepresentable raises", `msys.base64.encode("日本", false, "iso-8859-1")`, "convert to iso-8859-1"},
		{"wrong type raises", `msys.base64.encode({})`, "string expected, got table"},
		{"missing arg raises", `msys.base64.decode()`, "string expected, got nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			luatest.Check(t, luatest.NewState(t, New()), tc.code, tc.wantErr)
		})
	}
}
