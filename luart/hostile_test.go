package luart_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	jsonlib "github.com/luamilter/luamilter/modules/json"
	"github.com/luamilter/luamilter/modules/pcre"
)

func hostileTx() milter.Transaction {
	return milter.Transaction{ClientIP: "192.0.2.1", Helo: "h.example", From: "a@example.org",
		Rcpts: []string{"b@example.com"}, Message: []byte("Subject: x\r\n\r\nbody\r\n")}
}

// hostileScript runs body in validate_mailfrom when the sender's local
// part is "evil", and does nothing otherwise.
func hostileScript(body string) string {
	return fmt.Sprintf(`require("msys.pcre")
local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  if vctx:get(msys.core.VCTX_MESS, "mailfrom_localpart") == "evil" then
    %s
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("hostile", mod)`, body)
}

func TestHostileScriptsEndInTheConfiguredAction(t *testing.T) {
	const timeout = 500 * time.Millisecond
	tests := []struct {
		name, body, logWant string
	}{
		{"busy loop", `while true do end`, "kind=timeout"},
		{"pcall-wrapped loop", `while true do pcall(function() while true do end end) end`, "kind=timeout"},
		{"xpcall-wrapped loop", `while true do xpcall(function() while true do end end, function(e) return e end) end`, "kind=timeout"},
		{"string.rep 1e10", `local s = string.rep("x", 1e10)`, "string.rep result too large"},
		{"pcall string.rep", `pcall(string.rep, "x", 1e10)`, "string.rep result too large"},
		{"doubling concatenation", `local s = "x" while true do s = s .. s end`, "kind="},
		{"deep recursion", `local function f(n) return 1 + f(n + 1) end f(1)`, "stack overflow"},
		{"runaway tail call", `local function f() return f() end f()`, "kind=timeout"},
		{"coroutine recursion", `local function f() return coroutine.wrap(f)() end f()`, "C stack overflow"},
		{"catastrophic pattern", `string.find(string.rep("a", 40), string.rep("a?", 40) .. string.rep("a", 40))`, "kind="},
		{"huge table.concat", `local t = {} for i = 1, 100 do t[i] = string.rep("x", 1e6) end local s = table.concat(t)`, "kind="},
		{"huge gsub", `local s = string.rep("x", 1e5):gsub("x", string.rep("y", 1000))`, "kind="},
		{"error table", `error({})`, "error object is a table value"},
		{"error nil", `error(nil)`, "kind=runtime"},
		{"set_code wrong type", `vctx:set_code({})`, "SMTP code expected"},
		{"vctx:get wrong type", `vctx:get("conn", 1)`, "bad argument"},
		{"pcre wrong types", `msys.pcre.match(nil, 5)`, "bad argument"},
		{"library write", `string.find = nil`, "read-only table 'string'"},
		{"thread environment", `setfenv(0, {})`, "only allows setting the environment of a function"},
		{"vararg tail call growth", `local function f(...) return f(1, ...) end f()`, "kind="},
		// gopher-lua panics on this explist; translated, it is a call argument and runs as in Lua 5.1
		{"gopher-lua concat of a multi-value call", `local function f() return "a", "b" end for l in (f() .. ""):gmatch(".") do error("survived " .. l) end`, "survived a"},
		{"big array index", `local t = {} t[2^26-1] = 1 error("survived")`, "survived"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := milttest.Start(t, milttest.Options{Timeout: timeout,
				Libraries: []luart.Library{pcre.New(pcre.Options{})},
				Brake:     luart.NewBrake(2<<30, 20*time.Millisecond)}, hostileScript(tc.body))
			evil := hostileTx()
			evil.From = "evil@example.org"
			start := time.Now()
			tr, err := srv.Play(evil)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			wantReply := "451 4.3.0 Temporary failure: " + reasonFor(tc.logWant) + ", try again later"
			if tc.logWant == "kind=" { // timeout or memory brake, whichever comes first
				wantReply = "451 4.3.0 Temporary failure: policy script "
			}
			if tr.Final.Stage != "mail" || !strings.HasPrefix(tr.Final.Reply, wantReply) {
				t.Fatalf("final %+v", tr.Final)
			}
			if elapsed > timeout+10*time.Second {
				t.Errorf("took %s, budget %s", elapsed, timeout)
			}
			waitLog(t, srv, tc.logWant)
			tr, err = srv.Play(hostileTx())
			if err != nil || tr.Final.Action != "accept" {
				t.Fatalf("normal transaction after the hostile one: %+v %v", tr, err)
			}
		})
	}
}

func reasonFor(logWant string) string {
	switch {
	case logWant == "kind=timeout":
		return "policy script timeout"
	// kind=limit: the built-in's own cap or the process memory brake,
	// whichever trips first when earlier cases left garbage behind.
	case logWant == "kind=limit", strings.Contains(logWant, "too large"), strings.Contains(logWant, "too complex"), strings.Contains(logWant, "stack overflow"):
		return "policy script resource limit"
	}
	return "policy script error"
}

func waitLog(t *testing.T, srv *milttest.Server, want string) {
	t.Helper()
	for i := 0; i < 250; i++ {
		if strings.Contains(srv.Logs(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log lacks %q:\n%s", want, srv.Logs())
}

// TestSessionDataStaysWithItsSession checks the scoping a Momentum
// script relies on, session after session: globals and file-level
// locals are shared (a counter counts every session), while self, _TLS
// and the validation context start empty in each session and keep what
// the session put there from one command to the next.
func TestSessionDataStaysWithItsSession(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{}, `local sessions = 0
local mod = {}
function mod:validate_connect(ac, vctx)
  sessions = sessions + 1
  if self.mine or _TLS.mine or vctx:get(msys.core.VCTX_CONN, "mine") then
    vctx:set_code(451, "4.3.0 saw an earlier session's data")
    return msys.core.VALIDATE_DONE
  end
  self.mine, _TLS.mine = sessions, sessions
  vctx:set(msys.core.VCTX_CONN, "mine", tostring(sessions))
  return msys.core.VALIDATE_CONT
end
function mod:validate_mailfrom(str, ac, vctx)
  local n = tostring(sessions)
  if tostring(self.mine) ~= tostring(_TLS.mine) or vctx:get(msys.core.VCTX_CONN, "mine") ~= tostring(self.mine) then
    vctx:set_code(451, "4.3.0 lost this session's data")
  else
    vctx:set_code(550, "5.7.1 session " .. tostring(self.mine) .. " of " .. n)
  end
  return msys.core.VALIDATE_DONE
end
msys.registerModule("scoping", mod)`)
	for i := 1; i <= 4; i++ {
		tr, err := srv.Play(hostileTx())
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("550 5.7.1 session %d of %d", i, i); tr.Final.Reply != want {
			t.Fatalf("session %d: %+v, want %q", i, tr.Final, want)
		}
	}
}

func TestRequireInsideACalloutSetsTheGlobalEverySession(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Libraries: []luart.Library{jsonlib.New(jsonlib.Options{})}}, `local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  require("json")
  if tostring(json.encode({a = 1})) ~= '{"a":1}' then vctx:set_code(451, "4.3.0 json broken") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("late_require", mod)`)
	for i := 0; i < 3; i++ {
		if tr, err := srv.Play(hostileTx()); err != nil || tr.Final.Action != "accept" {
			t.Fatalf("session %d: %+v %v", i, tr, err)
		}
	}
}
