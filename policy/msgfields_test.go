package policy_test

import (
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// TestMessageFields covers the ec_message fields Momentum documents:
// msg.priority set and read back (the documented example assigns it in
// validate_set_binding), msg.batch_id, msg.recv_via and msg.recv_method.
func TestMessageFields(t *testing.T) {
	cases := []struct {
		name, callout, args, lua string
		want                     []string // reported values
		log                      string   // must be logged
	}{
		{"priority defaults to 0", "validate_data", "msg, ac, vctx",
			`report(vctx, msg.priority)`, []string{"0"}, ""},
		{"priority set to 1 reads back", "validate_data", "msg, ac, vctx",
			`msg.priority = 1 report(vctx, msg.priority)`, []string{"1"}, "msg.priority has no milter equivalent"},
		{"priority set back to 0", "validate_data", "msg, ac, vctx",
			`msg.priority = 1 msg.priority = 0 report(vctx, msg.priority)`, []string{"0"}, ""},
		{"priority 2 is refused", "validate_data", "msg, ac, vctx",
			`report(vctx, (pcall(function() msg.priority = 2 end)), msg.priority)`, []string{"false", "0"}, ""},
		{"other fields are not settable", "validate_data", "msg, ac, vctx",
			`local ok, err = pcall(function() msg.id = "x" end) report(vctx, ok, err:match("no settable field 'id'") ~= nil)`,
			[]string{"false", "true"}, ""},
		{"batch_id", "validate_data", "msg, ac, vctx",
			`report(vctx, tostring(msg.batch_id), tostring(msg.batch_id) == tostring(msg.id))`, []string{"Q1/1.1", "true"}, ""},
		{"recv_via is the listener", "validate_data", "msg, ac, vctx",
			`report(vctx, tostring(msg.recv_via), msg:listener_addr())`, []string{"127.0.0.1:25", "127.0.0.1:25"}, ""},
		{"recv_method", "validate_data", "msg, ac, vctx",
			`report(vctx, msg.recv_method == msys.core.P_ESMTP, msg.recv_method ~= msys.core.P_INTERNAL)`, []string{"true", "true"}, ""},
		{"recv_method in each_rcpt", "validate_data_spool_each_rcpt", "msg, ac, vctx",
			`report(vctx, msg.recv_method == msys.core.P_ESMTP)`, []string{"true"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, calloutScript(tc.callout, tc.args, tc.lua))
			tr := play(t, s, plainMsg)
			wantReported(t, s, tr, tc.want)
			if !strings.Contains(s.Logs(), tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, s.Logs())
			}
		})
	}
}

// TestPrioritySetBinding is the documentation's example: msg.priority =
// 1 in validate_set_binding must not fail the message.
func TestPrioritySetBinding(t *testing.T) {
	s := startMsg(t, milttest.Options{}, `
require("msys.core");
require("msys.extended.message");
local mod = {};
function mod:validate_set_binding(msg)
  print("mod:validate_set_binding: Setting msg priority to 1");
  msg.priority = 1;
  return msys.core.VALIDATE_CONT;
end
msys.registerModule("binder", mod);`)
	for _, rcpts := range [][]string{{"a@example.com"}, {"a@example.com", "b@example.com"}} {
		tr := play(t, s, plainMsg, rcpts...)
		wantAccepted(t, s, tr, nil)
	}
	if n := strings.Count(s.Logs(), "msg.priority has no milter equivalent"); n != 1 {
		t.Fatalf("no-op logged %d times, want once:\n%s", n, s.Logs())
	}
}

// TestPartBounds: the add-disclaimer example of msgpart:addLastChild
// sets body_start and body_end of a new part to its whole content.
func TestPartBounds(t *testing.T) {
	const multi = "From: a@example.org\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nHello.\r\n--b1--\r\n"
	disclaimer := `
local function add_disclaimer(msg, plain, html)
  local p = msg:mime(false)
  if p == nil then
    return
  elseif p.parts != nil then
    if plain != nil then
      local plain_part = msg:makePart("text/plain", plain)
      plain_part.body_start = 0
      plain_part.body_end = #plain
      p:addLastChild(plain_part)
    end
    if html != nil then
      local html_part = msg:makePart("text/html", html)
      html_part.body_start = 0
      html_part.body_end = #html
      p:addLastChild(html_part)
    end
  end
end
add_disclaimer(msg, "Disclaimer", "<b>Disclaimer</b>")
`
	cases := []struct {
		name, lua string
		want      []string // reported, or nil to check the body
		body      []string // the new body must contain these, in order
	}{
		{"documented example", disclaimer, nil,
			[]string{"Hello.", "Content-Type: text/plain\r\n\r\nDisclaimer\r\n", "Content-Type: text/html\r\n\r\n<b>Disclaimer</b>\r\n", "--b1--"}},
		{"bounds read back", `local p = msg:makePart("text/plain", "abcdef") p.body_start = 1 p.body_end = 4
			report(vctx, p.body_start, p.body_end, p:text())`, []string{"1", "4", "bcd\r\n"}, nil},
		{"out of range", `local p = msg:makePart("text/plain", "abc")
			local ok, err = pcall(function() p.body_end = 9 end) report(vctx, ok, err:match("body_end 9") ~= nil)`,
			[]string{"false", "true"}, nil},
		{"parsed part refuses", `local p = msg:mime(false).parts[1]
			local ok, err = pcall(function() p.body_start = 0 end) report(vctx, ok, err:match("msg:makePart") ~= nil)`,
			[]string{"false", "true"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			tr := play(t, s, multi)
			if tc.want != nil {
				wantReported(t, s, tr, tc.want)
				return
			}
			body, ok := bodyOf(tr)
			if tr.Final.Action != "accept" || !ok {
				t.Fatalf("final %+v, body replaced %v\n%s", tr.Final, ok, s.Logs())
			}
			rest := body
			for _, w := range tc.body {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("body lacks %q after the earlier parts:\n%s", w, body)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestBuildTypedParts is msg:build as documented and as SparkPost's
// dynamically_create_new_message.lua calls it: parts keyed by content
// type. Every part must be in the built message.
func TestBuildTypedParts(t *testing.T) {
	cases := []struct {
		name, parts string
		want        []string
	}{
		{"plain and html", `{["text/plain; charset=utf8"] = "Momentum rocks.", ["text/html"] = "<b>Hello</b>"}`,
			[]string{"multipart/alternative", "2", "text/plain", "base64", "Momentum rocks.", "text/html", "quoted-printable", "<b>Hello</b>\r\n"}},
		{"one part", `{["text/plain"] = "only"}`,
			[]string{"text/plain", "nil", "quoted-printable", "only\r\n", "", "", "", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(`local m = msys.core.ec_message_new(nil)
m:build({To = "recipient@example.com", Subject = "built"}, `+tc.parts+`, {})
local top = m:mime()
local parts = top.parts
if parts == nil then
  local ct = top:content_type()
  report(vctx, ct.mimetype, tostring(parts), ct.encoding, top:text(), "", "", "", "")
else
  local a, b = parts[1]:content_type(), parts[2]:content_type()
  report(vctx, top:content_type().mimetype, #parts, a.mimetype, a.encoding, parts[1]:text(), b.mimetype, b.encoding, parts[2]:text())
end`))
			wantReported(t, s, play(t, s, plainMsg), tc.want)
		})
	}
}
