package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/milttest"
)

func TestTimersRunOnTheSchedulerAndStopAtDeinit(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local m = {}
local ticks = 0
function m:init()
  ticker = msys.timer.every(0.02, function() ticks = ticks + 1; print("tick " .. ticks) end, "ticker")
  msys.timer.after(0.01, function() print("after fired") end)
  return true
end
function m:deinit() print("deinit saw ticks") return true end
function m:validate_mailfrom(str, ac, vctx)
  local ok, err = pcall(msys.timer.after, 1, function() end)
  if ok or not string.find(err, "only be created in init", 1, true) then vctx:set_code(451, "4.3.0 timer allowed in a session") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("timers", m)`)
	waitFor(t, func() bool {
		return strings.Contains(srv.Logs(), "tick 3") && strings.Contains(srv.Logs(), "after fired")
	}, "timers")
	tr, err := srv.Play(tx())
	if err != nil || tr.Final.Action != "accept" {
		t.Fatalf("%+v %v", tr, err)
	}
	srv.Engine.Close(context.Background())
	n := strings.Count(srv.Logs(), "tick ")
	time.Sleep(100 * time.Millisecond)
	if strings.Count(srv.Logs(), "tick ") != n {
		t.Fatal("timer still firing after deinit")
	}
	if !strings.Contains(srv.Logs(), "deinit saw ticks") {
		t.Fatal("deinit did not run")
	}
}

func TestRunInPool(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{Direct: true}, `local m = {}
function m:validate_data(msg, ac, vctx)
  local ok, a, b = msys.runInPool("IO", function() return "x", 2 end)
  local bad, err = msys.runInPool("CPU", function() error("inside") end)
  local got
  msys.runInPool("IO", function() return 7 end, function(ok, v) got = v end)
  msg:header("X-Pool", tostring(ok) .. " " .. a .. " " .. b .. " " .. tostring(bad) .. " " .. tostring(got) .. " " .. tostring(string.find(err, "inside") ~= nil), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("pool", m)`)
	tr, err := srv.Play(tx())
	if err != nil || len(tr.Modifications) != 1 || !strings.Contains(tr.Modifications[0], "X-Pool: true x 2 false 7 true") {
		t.Fatalf("%+v %v", tr, err)
	}
}
