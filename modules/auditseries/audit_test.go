package auditseries_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/luamilter/luamilter/modules/auditseries"
	"github.com/luamilter/luamilter/modules/store"
	st "github.com/luamilter/luamilter/modules/store/storetest"
)

func TestAudit(t *testing.T) {
	ctx := context.Background()
	for _, be := range st.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			clk := st.NewClock()
			a, err := auditseries.NewAudit(be.New(t, clk), []string{"60,1", " 300 , 5 "})
			if err != nil {
				t.Fatal(err)
			}
			one, two := net.ParseIP("192.0.2.1"), net.ParseIP("192.0.2.2")
			for _, call := range []func() error{
				func() error { return a.Connection(ctx, one) },
				func() error { return a.Connection(ctx, one) },
				func() error { return a.Connection(ctx, two) },
				func() error { return a.Reception(ctx, one) },
				func() error { return a.Rejection(ctx, two) },
				func() error { return a.Disconnect(ctx, one) },
			} {
				if err := call(); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := a.InboundSessionCount(ctx, one, "/24"); err != nil || n != 2 {
				t.Fatalf("InboundSessionCount(/24) = %d, %v; want 2", n, err)
			}
			L := st.NewState(t, "192.0.2.1", auditseries.NewAuditLibrary(a))
			advance(L, clk)
			st.Run(t, L, []st.Step{
				{Lua: `msys.audit.connections("60,1")`, Want: "2"},
				{Lua: `msys.audit.connections("60,1", "/24")`, Want: "3"},
				{Lua: `msys.audit.connections("300,5", {cidr = "192.0.2.2"})`, Want: "1"},
				{Lua: `msys.audit.receptions("60,1")`, Want: "1"},
				{Lua: `msys.audit.rejections("60,1", "192.0.2.0/24")`, Want: "1"},
				{Lua: `msys.audit.rejections("60,1")`, Want: "0"},
				{Lua: `msys.audit.inbound_session_count("/32", "SMTP")`, Want: "1"},
				{Lua: `msys.audit.inbound_session_count("192.0.2.2")`, Want: "1"},
				{Lua: `msys.audit.inbound_session_count("/24", "Control")`, Want: "0"},
				{Lua: `advance(60)`},
				{Lua: `msys.audit.connections("60,1", "/24")`, Want: "0"},
				{Lua: `msys.audit.connections("300,5", {cidr = "/24", startv = 0, endv = 4})`, Want: "3"},
				{Lua: `msys.audit.connections("61,1")`, Err: `audit monitor "61,1" is not configured`},
				{Lua: `msys.audit.connections("60,1", "/20")`, Err: "not tracked"},
				{Lua: `msys.audit.connections("60,1", {cidr = 5})`, Err: "cidr must be a string"},
			})
		})
	}
}

func TestAuditBadMonitor(t *testing.T) {
	sh := store.NewShared(store.NewMemory(store.Config{}), true, nil)
	for _, m := range []string{"60", "a,1", "60,0", "0,1"} {
		if _, err := auditseries.NewAudit(sh, []string{m}); err == nil {
			t.Errorf("NewAudit(%q): no error", m)
		}
	}
	a, _ := auditseries.NewAudit(sh, nil)
	if err := a.Connection(context.Background(), nil); err == nil {
		t.Error("Connection(nil): no error")
	}
}

// TestFailModes stops Redis under the Lua API: failing open turns adds
// into no-ops and counts into 0; failing closed raises an error a script
// can catch with pcall.
func TestFailModes(t *testing.T) {
	for _, mode := range []string{store.FailOpen, store.FailClosed} {
		t.Run(mode, func(t *testing.T) {
			srv := st.StartRedis(t)
			sh, err := store.New(store.Config{Backend: "redis", Addrs: []string{srv.Addr}, FailMode: mode}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sh.Close()
			L := st.NewState(t, "192.0.2.1", auditseries.New(auditseries.Options{Store: sh}))
			st.Run(t, L, []st.Step{{Lua: as + `define("s", "cidr", 60, 1)`}, {Lua: `(function() msys.audit_series.add("s") end)()`}, {Lua: as + `count("s")`, Want: "1"}})
			srv.Kill()
			start := time.Now()
			if mode == store.FailOpen {
				st.Run(t, L, []st.Step{{Lua: `(function() msys.audit_series.add("s") end)()`}, {Lua: as + `count("s")`, Want: "0"}})
			} else {
				st.Run(t, L, []st.Step{
					{Lua: `(function() local ok, err = pcall(` + as + `add, "s") return ok, string.match(err, "msys.audit_series: store unavailable") end)()`, Want: "false msys.audit_series: store unavailable"},
					{Lua: as + `count("s")`, Err: "msys.audit_series: store unavailable: redis count"},
				})
			}
			if d := time.Since(start); d > 5*time.Second { // a hang guard only
				t.Fatalf("calls against a stopped server took %v", d)
			}
		})
	}
}
