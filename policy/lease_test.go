package policy_test

import (
	"fmt"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
)

// TestSessionsHoldNoThreadBetweenEvents checks that a session gives its
// Lua thread back after each SMTP event whatever its scripts keep, and
// that the scripts still see what Momentum shows them: `self` and the
// context are the session's own from phase to phase, a global is the
// same for every session.
func TestSessionsHoldNoThreadBetweenEvents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		header func(session, message int) string // X-Lease at end of message
	}{
		{"context only", `local mod = {}
function mod:validate_mailfrom(str, ac, vctx) vctx:set(msys.core.VCTX_MESS, "from", str) return msys.core.VALIDATE_CONT end
function mod:validate_data(msg, ac, vctx) msg:header("X-Lease", vctx:get(msys.core.VCTX_MESS, "from")) return msys.core.VALIDATE_CONT end
msys.registerModule("lease", mod)`, func(int, int) string { return "MAIL FROM:<a@example.org>" }},
		{"scalars in self", `local mod = {}
function mod:validate_mailfrom(str, ac, vctx) self.n = (self.n or 0) + 1 self.ok = true return msys.core.VALIDATE_CONT end
function mod:validate_data(msg, ac, vctx) msg:header("X-Lease", "n=" .. self.n) return msys.core.VALIDATE_CONT end
msys.registerModule("lease", mod)`, func(_, n int) string { return fmt.Sprintf("n=%d", n) }},
		{"table in self", `local mod = {}
function mod:validate_mailfrom(str, ac, vctx) self.seen = self.seen or {} table.insert(self.seen, str) return msys.core.VALIDATE_CONT end
function mod:validate_data(msg, ac, vctx) msg:header("X-Lease", "n=" .. #self.seen) return msys.core.VALIDATE_CONT end
msys.registerModule("lease", mod)`, func(_, n int) string { return fmt.Sprintf("n=%d", n) }},
		{"global", `local mod = {}
function mod:validate_mailfrom(str, ac, vctx) count = (count or 0) + 1 return msys.core.VALIDATE_CONT end
function mod:validate_data(msg, ac, vctx) msg:header("X-Lease", "n=" .. count) return msys.core.VALIDATE_CONT end
msys.registerModule("lease", mod)`, func(i, n int) string { return fmt.Sprintf("n=%d", 2*i+n) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := milttest.Start(t, milttest.Options{}, tc.script)
			rt := srv.Engine.Runtime()
			base := rt.PoolStats().InUse // the generation's scheduler thread
			var sessions []*gomilter.ClientSession
			for i := range 3 {
				s := openSession(t, srv)
				sessions = append(sessions, s)
				for n := 1; n <= 2; n++ {
					mods, act := sendMessage(t, s, "a@example.org", "b@example.com")
					want := tc.header(i, n)
					if act.Type != gomilter.ActionAccept || headerValue(mods, "X-Lease") != want {
						t.Fatalf("session %d message %d: %v, X-Lease %q, want %q", i, n, act, headerValue(mods, "X-Lease"), want)
					}
					if err := s.Abort(nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := rt.PoolStats().InUse; got != base {
				t.Errorf("%d sessions open between messages hold %d threads, want none", len(sessions), got-base)
			}
			for _, s := range sessions {
				s.Close()
			}
		})
	}
}

// TestConcurrentSessionsShareStates runs sessions at once so that States
// and the shared host metatables pass between them (run it with -race):
// each session must still see only its own recipient and `self`.
func TestConcurrentSessionsShareStates(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local mod = {}
function mod:validate_rcptto(msg, str, ac, vctx)
  self.rcpt = msg:rcptto()
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  local list = vctx:recipient_list()
  msg:header("X-Seen", self.rcpt .. " " .. list[0] .. " " .. tostring(ac.remote_addr))
  return msys.core.VALIDATE_CONT
end
msys.registerModule("shared", mod)`)
	const sessions, each = 8, 15
	errs := make(chan error, sessions)
	for g := range sessions {
		go func() {
			for i := range each {
				rcpt := fmt.Sprintf("r%d-%d@example.com", g, i)
				tr, err := srv.Play(tx(rcpt))
				if err == nil && (len(tr.Modifications) != 1 || !strings.Contains(tr.Modifications[0], "X-Seen: "+rcpt+" "+rcpt+" 192.0.2.10:")) {
					err = fmt.Errorf("%s: modifications %q", rcpt, tr.Modifications)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range sessions {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestTarpitWaitsWithoutAState checks that a session sleeping for
// vctx:tarpit has given its State back: a tarpit is a delay for the SMTP
// client, and many of them must not hold many States.
func TestTarpitWaitsWithoutAState(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{}, `local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  vctx:tarpit(2)
  print("tarpit set")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("slow", mod)`)
	rt := srv.Engine.Runtime()
	base := rt.PoolStats().InUse
	s := openSession(t, srv)
	done := make(chan error, 1)
	go func() {
		_, err := s.Mail("<a@example.org>", "")
		done <- err
	}()
	waitFor(t, func() bool { return strings.Contains(srv.Logs(), "tarpit set") }, "the callout")
	waitFor(t, func() bool { return rt.PoolStats().InUse == base }, "the State back during the tarpit")
	select {
	case err := <-done:
		t.Fatalf("MAIL answered before the check could see the tarpit (%v)", err)
	default:
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.Close()
}
