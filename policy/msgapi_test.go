package policy_test

import (
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

func TestMessageBodyAndRaw(t *testing.T) {
	cases := []struct {
		name, lua string
		want      []string // reported values, nil: none
		mods      []string // modifications (body shown by bodyOf)
		body      string   // replacement body, "" for none
	}{
		{"body getter", `report(vctx, msg:body())`, []string{"Hello world.\r\n"}, nil, ""},
		{"raw getter", `local r, n = msg:raw() report(vctx, n == #r, r:sub(1, 24))`,
			[]string{"true", "From: Sender <sender@exa"}, nil, ""},
		{"size", `report(vctx, msg:get_message_size() == #msg:raw())`, []string{"true"}, nil, ""},
		{"same body is no change", `msg:body(msg:body() .. ".\r\n")`, nil, nil, ""},
		{"body setter", `msg:body("New body.\r\n..dot line\r\n.\r\n")`, nil,
			[]string{`replace_body "New body.\r\n.dot line\r\n"`}, "New body.\r\n.dot line\r\n"},
		{"body_replace", `assert(msg:body_replace("world", "there") == true)`, nil,
			[]string{`replace_body "Hello there.\r\n"`}, "Hello there.\r\n"},
		{"body_replace no match", `report(vctx, msg:body_replace("absent", "x"))`, []string{"false"}, nil, ""},
		{"body_replace groups", `msg:body_replace("(\\w+) (\\w+)", "$2 $1")`, nil,
			[]string{`replace_body "world Hello.\r\n"`}, "world Hello.\r\n"},
		{"raw_replace header and body", `assert(msg:raw_replace("X-Folded: first\r\n\tsecond", "X-Folded: one line") == true)`, nil,
			[]string{"change_header X-Folded[1]: one line"}, ""},
		{"raw setter", `msg:raw("From: x@example.org\r\nSubject: replaced\r\n\r\nOther.\r\n.\r\n")`, nil,
			[]string{"delete_header X-Latin1[1]", "delete_header X-Multi[2]", "delete_header X-Multi[1]", "delete_header X-Folded[1]",
				"change_header Subject[1]: replaced", "delete_header To[1]", "change_header From[1]: x@example.org",
				`replace_body "Other.\r\n"`}, "Other.\r\n"},
		// Read as Postfix would read the message: "Name :" names Name,
		// and a line that is not a field starts the body.
		{"raw setter reads fields as the MTA does", `msg:raw("Subject : replaced\r\nno field\r\nTo: not a field now\r\n\r\nOther.\r\n")
			report(vctx, msg:header("Subject")[1], #msg:header("To"), msg:body())`,
			[]string{"replaced", "0", "no field\r\nTo: not a field now\r\n\r\nOther.\r\n"}, nil, ""},
		{"text setter replaces body", `msg:text("plain")`, nil, []string{
			"insert_header 65536 Content-Type: text/plain; charset=utf-8",
			"insert_header 65536 Content-Transfer-Encoding: 7bit",
			"insert_header 65536 MIME-Version: 1.0",
			`replace_body "plain\r\n"`}, "plain\r\n"},
		{"ids", `report(vctx, tostring(msg.id), tostring(msg.conn_id))`, []string{"Q1/1.1", "1"}, nil, ""},
		{"envelope", `report(vctx, msg:mailfrom(), msg:rcptto())`, []string{"sender@example.org", "rcpt@example.com"}, nil, ""},
		{"change sender", `msg:mailfrom("new@example.org")`, nil, []string{"change_from <new@example.org>"}, ""},
		{"listener and peer", `report(vctx, msg:listener_addr(), msg:reception_peer("ip"), msg:reception_peer("port"))`,
			[]string{"127.0.0.1:25", "192.0.2.1", "25000"}, nil, ""},
		{"get_envelope2", `local l, d = msys.core.string_new(), msys.core.string_new()
			msg:get_envelope2(msys.core.EC_MSG_ENV_FROM, l, d) report(vctx, tostring(l), tostring(d))`,
			[]string{"sender", "example.org"}, nil, ""},
		{"context", `msg:context_set(msys.core.ECMESS_CTX_MESS, "k", 5)
			report(vctx, msg:context_get(msys.core.ECMESS_CTX_MESS, "k"), msg:context_get(msys.core.ECMESS_CTX_MESS, "none"),
			msg:context_exists(msys.core.ECMESS_CTX_MESS, "none"), vctx:get(msys.core.VCTX_MESS, "k"))`,
			[]string{"5", "", "0", "5"}, nil, ""},
		{"quarantine", `msg:quarantine("held")`, nil, []string{`quarantine "held"`}, ""},
		{"detached build", `local m = msys.core.ec_message_new(nil)
			m:build({Subject = "Grüße", To = "x@example.com"}, {"text one", {content = "<p>two</p>", type = "text/html"}},
			  {{content = "\0\1", type = "application/octet-stream", filename = "a.bin"}})
			local t = m:text()
			report(vctx, m:header("Subject")[1], m:mime():content_type().mimetype, #m:mime().parts, t[1], t[2],
			  m:mime().parts[2]:content_type().filename)`,
			[]string{"Grüße", "multipart/mixed", "2", "text one\r\n", "<p>two</p>\r\n", "a.bin"}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			tr := play(t, s, plainMsg)
			if tc.want != nil {
				wantReported(t, s, tr, tc.want)
				return
			}
			wantAccepted(t, s, tr, tc.mods)
			if body, ok := bodyOf(tr); tc.body != "" && body != tc.body || tc.body == "" && ok {
				t.Fatalf("body %q, want %q", body, tc.body)
			}
		})
	}
}

// TestMessagePhases calls every content method in validate_rcptto, where
// the message has no content yet: each must fail with a clear error.
func TestMessagePhases(t *testing.T) {
	methods := []string{
		`msg:header("Subject")`, `msg:header("X", "y")`, `msg:body()`, `msg:raw()`, `msg:text()`,
		`msg:body_match("x")`, `msg:raw_match("x")`, `msg:text_match("x")`, `msg:body_replace("x", "y")`,
		`msg:text_replace("x", "y")`, `msg:raw_replace("x", "y")`, `msg:address_header("To")`, `msg:get_message_size()`,
		`msg:mime()`, `msg:makePart("text/plain")`, `msg:makeContainer("multipart/mixed")`,
	}
	for _, call := range methods {
		t.Run(call, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, `local mod = {}
function mod:validate_rcptto(msg, str, ac, vctx)
  `+call+`
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`)
			tr := play(t, s, plainMsg)
			if len(tr.Stages) < 4 || tr.Stages[3].Stage != "rcpt" || tr.Stages[3].Code != 451 {
				t.Fatalf("rcpt stage not tempfailed: %+v", tr.Stages)
			}
			if !strings.Contains(s.Logs(), "is not available in validate_rcptto (only in validate_data and later)") {
				t.Fatalf("no clear error in log:\n%s", s.Logs())
			}
		})
	}
	t.Run("rcptto change before each_rcpt", func(t *testing.T) {
		s := startMsg(t, milttest.Options{}, dataScript(`msg:rcptto("other@example.com")`))
		tr := play(t, s, plainMsg)
		if tr.Final.Code != 451 || !strings.Contains(s.Logs(), "only change the recipient in validate_data_spool_each_rcpt") {
			t.Fatalf("final %+v\n%s", tr.Final, s.Logs())
		}
	})
	for _, call := range []string{`msg:binding("x")`, `msg:binding_group("g")`, `msg:routing_domain()`} {
		t.Run(call+" in validate_data", func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(call))
			tr := play(t, s, plainMsg)
			if tr.Final.Code != 451 || !strings.Contains(s.Logs(), "is not available in validate_data (only in") {
				t.Fatalf("final %+v\n%s", tr.Final, s.Logs())
			}
		})
	}
	t.Run("build on the received message", func(t *testing.T) {
		s := startMsg(t, milttest.Options{}, dataScript(`msg:build({}, "x")`))
		tr := play(t, s, plainMsg)
		if tr.Final.Code != 451 || !strings.Contains(s.Logs(), "ec_message_new") {
			t.Fatalf("final %+v\n%s", tr.Final, s.Logs())
		}
	})
}

// eachRcptScript runs body in validate_data_spool_each_rcpt.
func eachRcptScript(body string) string {
	return calloutScript("validate_data_spool_each_rcpt", "msg, ac, vctx", body)
}

func TestEachRecipient(t *testing.T) {
	two := []string{"a@example.com", "b@example.com"}
	mimeHeaders := []string{"insert_header 65536 Content-Type: text/plain; charset=utf-8",
		"insert_header 65536 Content-Transfer-Encoding: 7bit", "insert_header 65536 MIME-Version: 1.0"}
	cases := []struct {
		name, lua string
		rcpts     []string
		final     string
		mods      []string
		log       string
	}{
		{"discard one of two", `if msg:rcptto() == "b@example.com" then msg:discard() end`, two, "accept",
			[]string{"del_rcpt <b@example.com>"}, "message discarded by policy"},
		{"discard all of two", `msg:discard()`, two, "discard", nil, ""},
		{"discard the only one", `msg:discard()`, []string{"a@example.com"}, "discard", nil, ""},
		{"header edit with one recipient applies", `msg:header("X-Rcpt", msg:rcptto(), "append")`, []string{"a@example.com"}, "accept",
			[]string{"insert_header 65536 X-Rcpt: a@example.com"}, ""},
		{"identical header edit with two recipients applies", `msg:header("X-Scanned", "yes", "append")`, two, "accept",
			[]string{"insert_header 65536 X-Scanned: yes"}, ""},
		{"differing header edit with two recipients is not applied", `msg:header("X-Rcpt", msg:rcptto(), "append")`, two, "accept",
			nil, "per-recipient edits differ"},
		{"one header agrees, the other differs", `msg:header("X-Scanned", "yes", "append"); msg:header("X-Rcpt", msg:rcptto(), "append")`, two, "accept",
			[]string{"insert_header 65536 X-Scanned: yes"}, "not_applied=X-Rcpt"},
		{"identical body edit with two recipients applies", `msg:body("same\r\n.\r\n")`, two, "accept",
			[]string{`replace_body "same\r\n"`}, ""},
		{"differing body edit with two recipients is not applied", `msg:body("per " .. msg:rcptto() .. "\r\n.\r\n")`, two, "accept",
			nil, "not_applied=body"},
		{"identical mime edit with two recipients applies", `msg:mime(false):text("x")`, two, "accept",
			append(mimeHeaders, `replace_body "x\r\n"`), ""},
		// The MIME headers text() adds are the same for both recipients
		// and apply; the bodies differ and don't.
		{"differing mime edit with two recipients is not applied", `msg:mime(false):text(msg:rcptto())`, two, "accept",
			mimeHeaders, "not_applied=body"},
		{"rcptto change", `if msg:rcptto() == "a@example.com" then msg:rcptto("c@example.com") end`, two, "accept",
			[]string{"del_rcpt <a@example.com>", "add_rcpt <c@example.com>"}, ""},
		{"reject one", `if msg:rcptto() == "a@example.com" then vctx:set_code(550, "5.1.1 no") end`, two, "accept",
			[]string{"del_rcpt <a@example.com>"}, "recipient rejected at end of message"},
		// Momentum fails the message only when every recipient rejects;
		// here one rejects and the other is discarded, so the client
		// sees success and nothing is delivered.
		{"reject one, discard the other", `if msg:rcptto() == "a@example.com" then vctx:set_code(550, "5.1.1 no") else msg:discard() end`,
			two, "discard", nil, "recipient rejected at end of message"},
		{"discard one, reject the other", `if msg:rcptto() == "b@example.com" then vctx:set_code(550, "5.1.1 no") else msg:discard() end`,
			two, "discard", nil, "recipient rejected at end of message"},
		{"reject one of three, discard the rest", `if msg:rcptto() == "b@example.com" then vctx:set_code(550, "5.1.1 no") else msg:discard() end`,
			[]string{"a@example.com", "b@example.com", "c@example.com"}, "discard", nil, "recipient rejected at end of message"},
		{"reject all of two", `vctx:set_code(550, "5.1.1 no")`, two, "reject", nil, "recipient rejected at end of message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, eachRcptScript(tc.lua))
			tr := play(t, s, plainMsg, tc.rcpts...)
			wantOutcome(t, s, tr, tc.final, tc.mods, tc.log)
		})
	}
}

// TestEachRecipientSeesDataEdits: per-recipient reads see what
// validate_data changed, and those edits are still applied beside the
// per-recipient edit every recipient made.
func TestEachRecipientSeesDataEdits(t *testing.T) {
	s := startMsg(t, milttest.Options{}, `
local mod = {}
function mod:validate_data(msg, ac, vctx)
  msg:body("edited\r\n.\r\n")
  return msys.core.VALIDATE_CONT
end
function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  if msg:body() ~= "edited\r\n" then error("each_rcpt saw " .. msg:body()) end
  msg:header("X-Each", "1")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`)
	tr := play(t, s, plainMsg, "a@example.com", "b@example.com")
	body, ok := bodyOf(tr)
	if tr.Final.Action != "accept" || !ok || body != "edited\r\n" || len(tr.Modifications) != 2 {
		t.Fatalf("final %+v mods %v\n%s", tr.Final, tr.Modifications, s.Logs())
	}
}

func TestNotExpressible(t *testing.T) {
	cases := []struct{ name, script, log, want string }{
		{"binding", `local mod = {}
function mod:validate_set_binding(msg)
  if msg:binding("fast") ~= "default" then error("binding") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`, "msg:binding has no milter equivalent", ""},
		{"binding_group", `local mod = {}
function mod:validate_set_binding(msg)
  msg:binding_group("g")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`, "msg:binding_group has no milter equivalent", ""},
		{"routing_domain", eachRcptScript(`if msg:routing_domain("relay.example") ~= "example.com" then error("rd") end`),
			"msg:routing_domain has no milter equivalent", ""},
		{"capability edit", `local mod = {}
function mod:validate_ehlo(str, ac, vctx)
  ac:esmtp_capability_remove("PIPELINING")
  ac:esmtp_capability_add("XFOO")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`, "EHLO capability edits can't be made through a milter", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, tc.script)
			tr := play(t, s, plainMsg)
			if tr.Final.Action != "accept" || len(tr.Modifications) != 0 {
				t.Fatalf("final %+v mods %v\n%s", tr.Final, tr.Modifications, s.Logs())
			}
			if !strings.Contains(s.Logs(), tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, s.Logs())
			}
		})
	}
}
