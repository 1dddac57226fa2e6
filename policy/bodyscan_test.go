package policy_test

import (
	"strconv"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// TestBodyMethodsOnSpooledBody runs the body pattern methods on a body
// spooled to disk, which they search mapped rather than read: what they
// return must stay valid after the mapping is gone (the test process
// would fault otherwise), and reading, replacing and matching must see
// one consistent body in any order.
func TestBodyMethodsOnSpooledBody(t *testing.T) {
	src := bigMessage(200 << 10)
	bodyLen := strconv.Itoa(len(src) - len("From: big@example.org\r\nTo: rcpt@example.com\r\nSubject: big\r\n\r\n"))
	cases := []struct {
		name string
		lua  string
		want []string
	}{
		{"match groups outlive the search",
			`local m = msg:body_match("the (?<what>needle) (is)")
			 local n = msg:body_match("k(lmn)")
			 collectgarbage()
			 report(vctx, m[0], m[1], m.what, m[2], n[1])`,
			[]string{"the needle is", "needle", "needle", "is", "lmn"}},
		{"no match", `report(vctx, tostring(msg:body_match("absent")))`, []string{"false"}},
		{"failed replace keeps the body",
			`report(vctx, tostring(msg:body_replace("absent", "x")), #msg:body(), tostring(msg:body_match("needle") ~= false))`,
			[]string{"false", bodyLen, "true"}},
		{"match after replace sees the new body",
			`msg:body_replace("the (needle) is", "it was $1") report(vctx, msg:body_match("it (\\w+) (\\w+)")[2], tostring(msg:body_match("the needle")))`,
			[]string{"needle", "false"}},
		{"match after body read", `local b = msg:body() report(vctx, msg:body_match("the (needle)")[1], #b)`,
			[]string{"needle", bodyLen}},
		{"replace then read", `msg:body_replace("needle", "pin") local b = msg:body() report(vctx, b:sub(-17, -3))`,
			[]string{"the pin is here"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{SpoolThreshold: 16 << 10}, dataScript(tc.lua))
			wantReported(t, s, play(t, s, src), tc.want)
		})
	}
}
