package policy_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/internal/poll"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// counterScript numbers the messages of a connection in a header and
// checks that the message dictionary was emptied at MAIL FROM.
const counterScript = `local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  self.n = (self.n or 0) + 1
  if vctx:get(msys.core.VCTX_MESS, "leftover") ~= nil then
    vctx:set_code(451, "4.3.0 message context leaked")
  end
  return msys.core.VALIDATE_CONT
end
function mod:validate_rcptto(msg, str, ac, vctx)
  vctx:set(msys.core.VCTX_MESS, "leftover", "yes")
  vctx:set(msys.core.VCTX_CONN, "conn_note", "kept")
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  msg:header("X-Message", tostring(self.n) .. " " .. vctx:get(msys.core.VCTX_CONN, "conn_note") ..
    " " .. vctx:get(msys.core.VCTX_CONN, "connection_message_count"), "append")
  return msys.core.VALIDATE_CONT
end
function mod:validate_dealloc()
  print("dealloc after " .. tostring(self.n) .. " messages")
end
msys.registerModule("counter", mod)`

func sendMessage(t *testing.T, s *gomilter.ClientSession, from string, rcpts ...string) ([]gomilter.ModifyAction, *gomilter.Action) {
	t.Helper()
	if act, err := s.Mail("<"+from+">", ""); err != nil || act.StopProcessing() {
		t.Fatalf("mail: %v %v", act, err)
	}
	for _, r := range rcpts {
		if act, err := s.Rcpt("<"+r+">", ""); err != nil || act.StopProcessing() {
			t.Fatalf("rcpt: %v %v", act, err)
		}
	}
	if _, err := s.DataStart(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HeaderField("Subject", "hi", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HeaderEnd(); err != nil {
		t.Fatal(err)
	}
	mods, act, err := s.BodyReadFrom(bytes.NewReader([]byte("body\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return mods, act
}

func openSession(t *testing.T, srv *milttest.Server) *gomilter.ClientSession {
	t.Helper()
	macros := gomilter.NewMacroBag()
	macros.Set("i", "QID1")
	s, err := srv.Client().Session(macros)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conn("client.example.net", gomilter.FamilyInet, 4321, "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Helo("client.example.net"); err != nil {
		t.Fatal(err)
	}
	return s
}

func headerValue(mods []gomilter.ModifyAction, name string) string {
	for _, m := range mods {
		if strings.EqualFold(m.HeaderName, name) {
			return strings.TrimSpace(m.HeaderValue)
		}
	}
	return ""
}

func TestSeveralMessagesAndRsetOnOneConnection(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{}, counterScript)
	s := openSession(t, srv)
	mods, act := sendMessage(t, s, "a@example.org", "b@example.com")
	if act.Type != gomilter.ActionAccept || headerValue(mods, "X-Message") != "1 kept 1" {
		t.Fatalf("first message: %v %v", act, mods)
	}
	// Postfix sends ABORT after end of message, and on RSET.
	if err := s.Abort(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mail("<a@example.org>", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rcpt("<b@example.com>", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(nil); err != nil { // RSET mid-transaction
		t.Fatal(err)
	}
	mods, act = sendMessage(t, s, "c@example.org", "d@example.com", "e@example.com")
	if act.Type != gomilter.ActionAccept || headerValue(mods, "X-Message") != "3 kept 3" {
		t.Fatalf("message after RSET: %v %v", act, mods)
	}
	s.Close()
	waitFor(t, func() bool { return strings.Contains(srv.Logs(), "dealloc after 3 messages") }, "validate_dealloc log")
}

func TestRejectedRecipientKeepsEarlierState(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{}, `local mod = {}
function mod:validate_rcptto(msg, str, ac, vctx)
  if msg:rcptto() == "bad@example.com" then vctx:set_code(550, "5.1.1 bad") end
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  local l = vctx:recipient_list()
  msg:header("X-Rcpts", msg:mailfrom() .. " " .. l[0] .. " " .. l[1], "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("keep", mod)`)
	s := openSession(t, srv)
	defer s.Close()
	if _, err := s.Mail("<from@example.org>", ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"one@example.com", "bad@example.com", "two@example.com"} {
		act, err := s.Rcpt("<"+r+">", "")
		if err != nil {
			t.Fatal(err)
		}
		if (r == "bad@example.com") != act.StopProcessing() {
			t.Fatalf("rcpt %s: %v", r, act)
		}
	}
	if _, err := s.DataStart(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HeaderEnd(); err != nil {
		t.Fatal(err)
	}
	mods, act, err := s.BodyReadFrom(bytes.NewReader([]byte("x\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if act.Type != gomilter.ActionAccept || headerValue(mods, "X-Rcpts") != "from@example.org one@example.com two@example.com" {
		t.Fatalf("got %v %v", act, mods)
	}
}

func TestScriptErrorsApplyOnErrorAction(t *testing.T) {
	script := `local mod = {}
function mod:validate_rcptto(msg, str, ac, vctx)
  local t = nil
  return t.field
end
msys.registerModule("broken", mod)`
	tests := []struct {
		onError      policy.OnError
		action, want string
	}{
		{policy.ErrorTempfail, "tempfail", "451 4.3.0 Temporary failure: policy script error, try again later"},
		{policy.ErrorReject, "reject", "554 5.3.0 Message rejected: policy script error"},
		{policy.ErrorAccept, "continue", ""},
	}
	for _, tc := range tests {
		srv := milttest.Start(t, milttest.Options{Direct: true, OnError: tc.onError}, script)
		tr, err := srv.Play(tx())
		if err != nil {
			t.Fatal(err)
		}
		var rcpt milter.StageResult
		for _, s := range tr.Stages {
			if s.Stage == "rcpt" {
				rcpt = s
			}
		}
		if rcpt.Action != tc.action || rcpt.Reply != tc.want {
			t.Errorf("on-error %v: rcpt %+v, want %s %q", tc.onError, rcpt, tc.action, tc.want)
		}
		logs := srv.Logs()
		for _, want := range []string{"module=broken", "callout=validate_rcptto", "scripta.lua", "line=4", "attempt to index"} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		}
		// The daemon keeps serving.
		if _, err := srv.Play(tx()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadErrorsNameFileAndLine(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"syntax", "local x = = 1\n", ":1:"},
		{"runtime at load", "local mod = {}\n\nerror('boom at load')\n", ":3: boom at load"},
		{"registered twice", "msys.registerModule('m', {})\nmsys.registerModule('m', {})\n", `:2: module "m" registered twice`},
		{"init not true", "local m = {}\nfunction m:init() return false end\nmsys.registerModule('m', m)\n", "init returned false, want true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "bad.lua")
			os.WriteFile(p, []byte(tc.src), 0o644)
			_, err := milttest.StartFiles(t, dir, milttest.Options{Direct: true}, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestGarbageAndHangupsDoNotStopTheServer(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{}, counterScript)
	// A client that sends garbage.
	for _, junk := range [][]byte{[]byte("GET / HTTP/1.0\r\n\r\n"), {0, 0, 0, 5, 'Z', 1, 2, 3, 4}, {0xff, 0xff, 0xff, 0xff}} {
		c, err := net.Dial("unix", srv.Socket)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(junk)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		c.Read(buf)
		c.Close()
	}
	// A client that hangs up in the middle of a message body.
	s := openSession(t, srv)
	s.Mail("<a@example.org>", "")
	s.Rcpt("<b@example.com>", "")
	s.DataStart()
	s.HeaderEnd()
	s.BodyChunk(bytes.Repeat([]byte("x"), 70000))
	s.Close()
	waitFor(t, func() bool { return strings.Contains(srv.Logs(), "dealloc after 1 messages") }, "cleanup after hang-up")
	entries, _ := filepath.Glob(filepath.Join(srv.Dir, "luamilter-*"))
	if len(entries) != 0 {
		t.Fatalf("spool files left behind: %v", entries)
	}
	tr, err := srv.Play(tx())
	if err != nil || tr.Final.Action != "accept" {
		t.Fatalf("after garbage: %+v %v", tr, err)
	}
}

// init and deinit run once per generation on their own State, like
// Momentum's scheduler thread; module upvalues they set are not seen by
// session States (locals are per State, as the reference says).
func TestInitAndDeinitRun(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local m = {}
function m:init() print("init ran"); return true end
function m:deinit() print("deinit ran"); return true end
msys.registerModule("lifecycle", m)`)
	if !strings.Contains(srv.Logs(), "init ran") {
		t.Fatalf("init did not run:\n%s", srv.Logs())
	}
	if _, err := srv.Play(tx()); err != nil {
		t.Fatal(err)
	}
	srv.Engine.Close(context.Background())
	if n := strings.Count(srv.Logs(), "deinit ran"); n != 1 {
		t.Fatalf("deinit ran %d times:\n%s", n, srv.Logs())
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	poll.Until(t, 5*time.Second, what, cond)
}
