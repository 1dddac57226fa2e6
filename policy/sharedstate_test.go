package policy_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/msysfuncs"
)

// TestAMutexExcludesEverySession runs sessions at once that each enter a
// critical section guarded by one thread.mutex, made in init and kept in
// a file-level local as Momentum's samples do, and wait inside it: no
// session may find another inside, and a shared counter counts them all.
func TestAMutexExcludesEverySession(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true, Libraries: []luart.Library{msysfuncs.New(msysfuncs.Options{})}}, `local guard
local inside, total = false, 0
local mod = {}
function mod:init()
  guard = thread.mutex()
  return true
end
function mod:validate_mailfrom(str, ac, vctx)
  guard:lock()
  if inside then
    guard:unlock()
    vctx:set_code(451, "4.3.0 two sessions inside")
    return msys.core.VALIDATE_DONE
  end
  inside = true
  msys.sleep(0.02) -- waits without the Lua lock: others run meanwhile
  total = total + 1
  inside = false
  guard:unlock()
  vctx:set_code(550, "5.7.1 session number " .. total)
  return msys.core.VALIDATE_DONE
end
msys.registerModule("guarded", mod)`)
	const sessions = 6
	var wg sync.WaitGroup
	replies := make(chan string, sessions)
	for range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := srv.Play(tx("b@example.com"))
			if err != nil {
				replies <- err.Error()
				return
			}
			replies <- tr.Final.Reply
		}()
	}
	wg.Wait()
	close(replies)
	seen := map[string]bool{}
	for r := range replies {
		if !strings.HasPrefix(r, "550 5.7.1 session number ") {
			t.Fatalf("reply %q", r)
		}
		seen[r] = true
	}
	for i := 1; i <= sessions; i++ {
		if !seen[fmt.Sprintf("550 5.7.1 session number %d", i)] {
			t.Errorf("no session got number %d: %v", i, seen)
		}
	}
}

// TestAWaitingSessionHoldsUpNoOther checks that a callout waiting in a
// library call (here msys.sleep; DNS, HTTP and datasources wait the same
// way) lets other sessions run their Lua meanwhile: a session started
// while the first one waits finishes first.
func TestAWaitingSessionHoldsUpNoOther(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true, Libraries: []luart.Library{msysfuncs.New(msysfuncs.Options{})}}, `local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  if string.find(str, "slow") then
    print("slow session waiting")
    msys.sleep(1.5)
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("waits", mod)`)
	done := make(chan string, 2)
	go func() {
		slow := tx("b@example.com")
		slow.From = "slow@example.org"
		srv.Play(slow)
		done <- "slow"
	}()
	waitFor(t, func() bool { return strings.Contains(srv.Logs(), "slow session waiting") }, "the slow session to wait")
	go func() {
		srv.Play(tx("b@example.com"))
		done <- "quick"
	}()
	if first := <-done; first != "quick" {
		t.Fatalf("%s session finished first; the waiting one held up the other", first)
	}
	<-done
}
