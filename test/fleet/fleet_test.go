// Package fleet tests several luamilter daemons sharing one Redis, as
// sidecars of a fleet of MTAs would.
package fleet

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/logbuf"
	"github.com/luamilter/luamilter/internal/poll"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/modules/store/storetest"
)

const limit = 7

// rateScript allows `limit` messages per minute per sender, counted in a
// msys.audit_series shared through the counter store.
var rateScript = fmt.Sprintf(`require("msys.audit_series")
local mod = {}
function mod:init()
  msys.audit_series.define("sender_rate", "string", 60, 1)
  return true
end
function mod:validate_mailfrom(str, ac, vctx)
  local sender = vctx:get(msys.core.VCTX_MESS, "mailfrom_localpart") .. "@" .. vctx:get(msys.core.VCTX_MESS, "mailfrom_domain")
  local n = msys.audit_series.add("sender_rate", sender)
  if n > %d then
    vctx:set_code(450, "4.7.1 Too many messages from " .. sender .. ", slow down")
    return msys.core.VALIDATE_DONE
  end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("sender_rate", mod)`, limit)

func buildLuamilter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "luamilter")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/luamilter/luamilter/cmd/luamilter")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startDaemon runs `luamilter serve` against redisAddr, with
// --store-fail failMode, and waits until it accepts connections.
func startDaemon(t *testing.T, bin, script, redisAddr, failMode string) string {
	t.Helper()
	addr := freePort(t)
	var logs logbuf.Buffer
	cmd := exec.Command(bin, "serve", "--listen", "inet:"+addr, "--script", script, "--control-socket", "none",
		"--spool-dir", t.TempDir(), "--store", "redis", "--redis", redisAddr, "--store-fail", failMode)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("daemon %s (store-fail %s) log:\n%s", addr, failMode, logs.String())
		}
	})
	// On failure the cleanup above logs what the daemon wrote.
	poll.Until(t, 5*time.Second, "daemon on "+addr+" to start", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// TestRateLimitHoldsAcrossDaemons sends 3×limit messages from one sender
// through two daemons at once; exactly `limit` may pass in total.
func TestRateLimitHoldsAcrossDaemons(t *testing.T) {
	redis := storetest.StartRedis(t)
	bin := buildLuamilter(t)
	script := filepath.Join(t.TempDir(), "rate.lua")
	os.WriteFile(script, []byte(rateScript), 0o644)
	daemons := []string{startDaemon(t, bin, script, redis.Addr, "closed"), startDaemon(t, bin, script, redis.Addr, "closed")}
	var mu sync.Mutex
	accepted, limited := 0, 0
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < limit/2+1; i++ {
				tr, err := milter.Play("tcp", daemons[(w+i)%2], milter.Transaction{ClientIP: "192.0.2.1", Helo: "h.example",
					From: "bulk@example.org", Rcpts: []string{"r@example.com"}, Message: []byte("Subject: x\r\n\r\nx\r\n")})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				switch {
				case tr.Final.Action == "accept":
					accepted++
				case tr.Final.Reply == "450 4.7.1 Too many messages from bulk@example.org, slow down":
					limited++
				default:
					t.Errorf("unexpected outcome %+v", tr.Final)
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if accepted != limit || accepted+limited != 6*(limit/2+1) {
		t.Fatalf("accepted %d, limited %d; want exactly %d accepted", accepted, limited, limit)
	}
}

// countScript adds a header with the sender's running count.
const countScript = `require("msys.audit_series")
local mod = {}
function mod:init() msys.audit_series.define("per_sender", "string", 60, 1) return true end
function mod:validate_data(msg, ac, vctx)
  local n = msys.audit_series.add("per_sender", msg:mailfrom())
  msg:header("X-Count", tostring(n), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("counting", mod)`

// TestRedisOutage kills Redis mid-run: every transaction still gets an
// answer, fail-open accepts without counting, fail-closed tempfails, and
// counting resumes once Redis is back.
func TestRedisOutage(t *testing.T) {
	redis := storetest.StartRedis(t)
	bin := buildLuamilter(t)
	script := filepath.Join(t.TempDir(), "count.lua")
	os.WriteFile(script, []byte(countScript), 0o644)
	open := startDaemon(t, bin, script, redis.Addr, "open")
	closed := startDaemon(t, bin, script, redis.Addr, "closed")
	send := func(addr string) *milter.Trace {
		t.Helper()
		start := time.Now()
		tr, err := milter.Play("tcp", addr, milter.Transaction{ClientIP: "192.0.2.1", Helo: "h.example",
			From: "s@example.org", Rcpts: []string{"r@example.com"}, Message: []byte("Subject: x\r\n\r\nx\r\n")})
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("answer took %s", d)
		}
		return tr
	}
	if tr := send(open); len(tr.Modifications) != 1 || tr.Modifications[0] != "insert_header 65536 X-Count: 1" {
		t.Fatalf("before the outage: %+v", tr)
	}
	redis.Kill()
	if tr := send(open); tr.Final.Action != "accept" || len(tr.Modifications) != 1 || tr.Modifications[0] != "insert_header 65536 X-Count: 0" {
		t.Fatalf("fail-open during the outage: %+v", tr)
	}
	if tr := send(closed); tr.Final.Action != "tempfail" || tr.Final.Code != 451 {
		t.Fatalf("fail-closed during the outage: %+v", tr.Final)
	}
	redis.Start()
	for _, addr := range []string{open, closed} {
		var tr *milter.Trace
		for i := 0; i < 50; i++ { // the client reconnects on its own
			if tr = send(addr); tr.Final.Action == "accept" && len(tr.Modifications) == 1 && tr.Modifications[0] != "insert_header 65536 X-Count: 0" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if tr.Final.Action != "accept" || tr.Modifications[0] == "insert_header 65536 X-Count: 0" {
			t.Fatalf("after Redis came back: %+v", tr)
		}
	}
}
