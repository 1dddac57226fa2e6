package policy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// negotiationScripts cover every callout, each one able to decide, so
// that a stage negotiated away by mistake shows up as a different result.
var negotiationScripts = map[string]string{
	"connect": `local mod = {}
function mod:validate_connect(ac, vctx)
  if tostring(ac.remote_addr) == "192.0.2.66" then vctx:set_code(554, "5.7.1 Go away") return msys.core.VALIDATE_DONE end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("connect", mod)`,
	"ehlo": `local mod = {}
function mod:validate_ehlo(str, ac, vctx)
  if string.find(tostring(str), "bad.helo", 1, true) then vctx:set_code(450, "4.7.1 Try later") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("ehlo", mod)`,
	"rcptto_list": `local mod = {}
function mod:validate_rcptto_list(_, vctx)
  if tonumber(vctx:get(msys.core.VCTX_CONN, "message_rcpt_count")) > 2 then vctx:set_code(452, "4.5.3 Too many recipients") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("rcptto_list", mod)`,
	"rcptto_list_final": `local mod = {}
function mod:validate_rcptto_list_final(_, vctx)
  if tonumber(vctx:get(msys.core.VCTX_CONN, "message_rcpt_count")) > 2 then vctx:set_code(550, "5.5.3 Too many recipients") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("final", mod)`,
	"each_rcpt": `local mod = {}
function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  if msg:rcptto() == "drop@example.com" then vctx:set_code(550, "5.7.1 Dropped") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("each", mod)`,
	"set_binding": `local mod = {}
function mod:validate_set_binding(msg)
  msg:header("X-Binding", msg:rcptto(), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("binding", mod)`,
	"data_spool edits and body": `local mod = {}
function mod:validate_data_spool(msg, ac, vctx)
  if string.find(msg:raw(), "REJECTME", 1, true) then vctx:set_code(550, "5.7.1 Body") return msys.core.VALIDATE_DONE end
  msg:header("Subject", "[tagged] " .. (msg:header("Subject")[1] or ""))
  msg:header("X-Old")
  msg:header("X-Sender", vctx:get(msys.core.VCTX_MESS, "mailfrom_localpart"), "prepend")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("spool", mod)`,
	"body and size": `local mod = {}
function mod:validate_data(msg, ac, vctx)
  if string.find(msg:body(), "REJECTME", 1, true) then vctx:set_code(550, "5.7.1 Body keyword") end
  msg:header("X-Size", tostring(msg:get_message_size()), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("size", mod)`,
	"dealloc only": `msys.registerModule("dealloc", {validate_dealloc = function(self) end})`,
	"two modules": `local a = {}
function a:validate_mailfrom(str, ac, vctx)
  if string.find(tostring(str), "@bad.example", 1, true) then vctx:set_code(550, "5.7.1 No") return msys.core.VALIDATE_DONE end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("a", a)
local b = {}
function b:validate_data(msg, ac, vctx)
  msg:header("X-Rcpts", vctx:get(msys.core.VCTX_CONN, "message_rcpt_count"), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("b", b)`,
}

// negotiationTransactions hit each rule of the scripts above and of the
// reference policy.
func negotiationTransactions() map[string]milter.Transaction {
	base := func(mod func(*milter.Transaction)) milter.Transaction {
		t := milter.Transaction{ClientIP: "192.0.2.1", ClientName: "client.example", Helo: "client.example",
			From: "a@example.org", Rcpts: []string{"b@example.com", "c@example.com"}, QueueID: "Q1",
			Message: []byte("Subject: hello\r\nX-Old: yes\r\nFrom: a@example.org\r\n\r\nbody line\r\n")}
		mod(&t)
		return t
	}
	return map[string]milter.Transaction{
		"clean":       base(func(*milter.Transaction) {}),
		"bad client":  base(func(t *milter.Transaction) { t.ClientIP = "192.0.2.66" }),
		"bad helo":    base(func(t *milter.Transaction) { t.Helo = "bad.helo" }),
		"bad sender":  base(func(t *milter.Transaction) { t.From = "x@BAD.example" }),
		"bad rcpt":    base(func(t *milter.Transaction) { t.Rcpts = []string{"b@example.com", "Nobody@example.com"} }),
		"only bad":    base(func(t *milter.Transaction) { t.Rcpts = []string{"nobody@example.com"} }),
		"three rcpts": base(func(t *milter.Transaction) { t.Rcpts = append(t.Rcpts, "d@example.com") }),
		"drop rcpt":   base(func(t *milter.Transaction) { t.Rcpts = []string{"b@example.com", "drop@example.com"} }),
		"spam": base(func(t *milter.Transaction) {
			t.Message = []byte("Subject: cheap ViAgRa\r\nFrom: a@example.org\r\n\r\nbody\r\n")
		}),
		"body keyword": base(func(t *milter.Transaction) {
			t.Message = []byte("Subject: hi\r\n\r\nplease REJECTME now\r\n")
		}),
	}
}

// outcome is what the MTA ends up doing: every stage that did not just
// continue, the final reply and the modifications.
type outcome struct {
	Decisions     []milter.StageResult
	Final         milter.StageResult
	Modifications []string
}

func outcomeOf(tr *milter.Trace) outcome {
	o := outcome{Final: tr.Final, Modifications: tr.Modifications}
	for _, s := range tr.Stages {
		if s.Action != "continue" {
			o.Decisions = append(o.Decisions, s)
		}
	}
	return o
}

// TestNegotiationByNeedChangesNoVerdict plays every transaction against
// every script twice, once with every event answered and once with only
// what the scripts need, and wants the same outcome.
func TestNegotiationByNeedChangesNoVerdict(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join("..", "examples", "reference-policy.lua"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{"reference policy": string(ref)}
	for k, v := range negotiationScripts {
		scripts[k] = v
	}
	txs := negotiationTransactions()
	for name, src := range scripts {
		t.Run(name, func(t *testing.T) {
			all := milttest.Start(t, milttest.Options{NegotiateAll: true}, src)
			need := milttest.Start(t, milttest.Options{}, src)
			for txName, tx := range txs {
				a, err := all.Play(tx)
				if err != nil {
					t.Fatalf("%s, every event: %v", txName, err)
				}
				n, err := need.Play(tx)
				if err != nil {
					t.Fatalf("%s, by need: %v", txName, err)
				}
				if oa, on := outcomeOf(a), outcomeOf(n); !reflect.DeepEqual(oa, on) {
					t.Errorf("%s: every event gives\n  %+v\nby need gives\n  %+v", txName, oa, on)
				}
			}
		})
	}
}

// TestReferencePolicyNeeds pins what the reference policy negotiates:
// replies at MAIL and RCPT, headers without replies, no DATA, and no
// body, since the script only reads a header.
func TestReferencePolicyNeeds(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join("..", "examples", "reference-policy.lua"))
	if err != nil {
		t.Fatal(err)
	}
	srv := milttest.Start(t, milttest.Options{}, string(ref))
	want := milter.Needs{MailReply: true, RcptReply: true, Headers: true}
	if got := srv.Engine.Needs(); got != want {
		t.Fatalf("needs %+v, want %+v", got, want)
	}
	sess, err := srv.Client().Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for _, c := range []struct {
		opt  gomilter.OptProtocol
		name string
		set  bool
	}{
		{gomilter.OptNoConnReply, "no connect reply", true},
		{gomilter.OptNoHeloReply, "no HELO reply", true},
		{gomilter.OptNoMailReply, "no MAIL reply", false},
		{gomilter.OptNoRcptReply, "no RCPT reply", false},
		{gomilter.OptNoData, "no DATA", true},
		{gomilter.OptNoHeaders, "no headers", false},
		{gomilter.OptNoHeaderReply, "no header reply", true},
		{gomilter.OptNoEOH, "no end of headers", true},
		{gomilter.OptNoBody, "no body", true},
		{gomilter.OptNoBodyReply, "no body reply", true},
	} {
		if got := sess.ProtocolOption(c.opt); got != c.set {
			t.Errorf("%s negotiated: %v, want %v", c.name, got, c.set)
		}
	}
}

// TestReloadRenegotiates checks that a connection opened after a reload
// negotiates for the new scripts: the reference policy needs the Subject
// header, which the first script did not ask for.
func TestReloadRenegotiates(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{}, negotiationScripts["connect"])
	spam := negotiationTransactions()["spam"]
	tr, err := srv.Play(spam)
	if err != nil || tr.Final.Action != "accept" {
		t.Fatalf("before reload: %+v %v", tr, err)
	}
	rt, err := luart.New(luart.Config{Scripts: []string{filepath.Join("..", "examples", "reference-policy.lua")},
		Libraries: []luart.Library{policy.CoreLibrary()}, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Engine.Swap(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	tr, err = srv.Play(spam)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s %s", tr.Final.Stage, tr.Final.Reply); got != "eom 550 5.7.1 Message content rejected by policy" {
		t.Fatalf("after reload: final %q", got)
	}
}

// TestBodyReadThroughABuiltNameFailsLoudly checks the one case negotiation
// by need can't see: a body method called through a name built at run
// time. The body was not asked for, so the call fails and the message is
// tempfailed (the on-error default) instead of being judged on an empty body.
func TestBodyReadThroughABuiltNameFailsLoudly(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{}, `local mod = {}
function mod:validate_data(msg, ac, vctx)
  local m = "bo" .. "dy"
  if #msg[m](msg) == 0 then vctx:set_code(550, "5.7.1 empty") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("built", mod)`)
	if srv.Engine.Needs().Body {
		t.Fatal("the body was asked for although no script names a body method")
	}
	tr, err := srv.Play(tx())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Code != 451 || !strings.Contains(srv.Logs(), "the message body was not asked of the MTA") {
		t.Fatalf("final %+v\n%s", tr.Final, srv.Logs())
	}
}
