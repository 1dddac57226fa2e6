package auditseries_test

import (
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/modules/auditseries"
	st "github.com/luamilter/luamilter/modules/store/storetest"
)

// advance gives scenarios an advance(seconds) global that moves clk.
func advance(L *lua.LState, clk *st.Clock) {
	L.SetGlobal("advance", L.NewFunction(func(L *lua.LState) int {
		clk.Advance(time.Duration(L.CheckNumber(1)) * time.Second)
		return 0
	}))
}

const as = "msys.audit_series."

func TestAuditSeries(t *testing.T) {
	scenarios := []struct {
		name  string
		peer  string
		steps []st.Step
	}{
		{"cidr series", "192.0.2.9", []st.Step{
			{Lua: as + `define("s4", "cidr", 60, 3)`},
			{Lua: as + `define("s4", "cidr", 60, 3)`}, // init runs again on reload
			{Lua: `(function() msys.audit_series.add("s4", "192.0.2.1") end)()`},
			{Lua: `(function() msys.audit_series.add("s4", {key = "192.0.2.2", count = 2}) end)()`},
			{Lua: `(function() msys.audit_series.add("s4") end)()`}, // the connected peer
			{Lua: `(function() msys.audit_series.add("s4", {remote_ip = "192.0.2.1"}) end)()`},
			{Lua: `(function() msys.audit_series.add("s4", {key = {remote_addr = "198.51.100.7:25"}}) end)()`},
			{Lua: as + `count("s4", "192.0.2.1")`, Want: "2"},
			{Lua: as + `count("s4", {key = "192.0.2.0/24"})`, Want: "5"},
			{Lua: as + `count("s4", "/24")`, Want: "5"},
			{Lua: as + `count("s4")`, Want: "1"},
			{Lua: as + `count("s4", "192.0.0.0/16")`, Want: "5"},
			{Lua: as + `count("s4", "198.51.100.7")`, Want: "1"},
			{Lua: as + `count("s4", "192.0.2.0/28")`, Err: "does not track /28"},
			{Lua: as + `add("s4", "2001:db8::1")`, Err: "does not belong to cidr series"},
			{Lua: as + `add("s4", "not an ip")`, Err: "not an IP address"},
			{Lua: as + `add("s4", "192.0.2.1/33")`, Err: "bad mask"},
			{Lua: `(function() msys.audit_series.add("s4", "10.1.2.0/24") end)()`}, // a network: counts at /24 and wider
			{Lua: as + `count("s4", "10.1.2.3")`, Want: "0"},
			{Lua: as + `count("s4", "10.1.0.0/16")`, Want: "1"},
		}},
		{"windows", "192.0.2.9", []st.Step{
			{Lua: as + `define("w", "cidr", 60, 3)`},
			{Lua: `(function() msys.audit_series.add("w", {count = 4}) end)()`},
			{Lua: `advance(60)`},
			{Lua: `(function() msys.audit_series.add("w") end)()`},
			{Lua: as + `count("w")`, Want: "1"},
			{Lua: as + `count("w", {startv = 0, endv = 1})`, Want: "5"},
			{Lua: as + `count("w", {startv = 1, endv = 2})`, Want: "4"},
			{Lua: as + `count("w", {startv = -1})`, Err: "must not be negative"},
			{Lua: `advance(180)`},
			{Lua: as + `count("w", {endv = 2})`, Want: "0"},
		}},
		{"ipv6 series", "2001:db8:1:2::5", []st.Step{
			{Lua: as + `define("s6", "cidr_ipv6", 60, 1, {masks = {64}})`},
			{Lua: `(function() msys.audit_series.add("s6") end)()`},
			{Lua: `(function() msys.audit_series.add("s6", "2001:db8:1:2::6") end)()`},
			{Lua: as + `count("s6", "/64")`, Want: "2"},
			{Lua: as + `count("s6", "2001:db8:1:2::6/128")`, Want: "1"},
			{Lua: as + `count("s6", "/48")`, Err: "does not track /48"},
			{Lua: as + `define("s4", "cidr", 60, 1)`},
			{Lua: `(function() msys.audit_series.add("s4") end)()`}, // an IPv6 peer is not counted in an IPv4 series
			{Lua: as + `count("s4")`, Want: "0"},
		}},
		{"string series and removal", "192.0.2.9", []st.Step{
			{Lua: as + `define("st", "string", 60, 2)`},
			{Lua: `(function() msys.audit_series.add("st", "bob") end)()`},
			{Lua: `(function() msys.audit_series.add("st", {key = "bob", count = 4}) end)()`},
			{Lua: `(function() msys.audit_series.add("st", {key = "eve", count = -1}) end)()`},
			{Lua: as + `count("st", "bob")`, Want: "5"},
			{Lua: as + `count("st", {key = "eve"})`, Want: "-1"},
			{Lua: as + `remove_item("st", "bob")`},
			{Lua: as + `count("st", "bob")`, Want: "0"},
			{Lua: as + `add("st")`, Err: "needs a string key"},
			{Lua: as + `count("st", {})`, Err: "needs a string key"},
			{Lua: as + `add("st", {key = "x", count = "two"})`, Err: "count must be a number"},
		}},
		{"bad definitions", "", []st.Step{
			{Lua: as + `add("nope", "x")`, Err: `series "nope" is not defined`},
			{Lua: as + `define("b", "cidr/24", 60, 1)`, Err: `type "cidr/24"`},
			{Lua: as + `define("b", "string", 0, 1)`, Err: "at least one second"},
			{Lua: as + `define("b", "string", 60, 0)`, Err: "num_windows 0"},
			{Lua: as + `define("b", "cidr", 60, 1, {masks = {40}})`, Err: "out of range"},
			{Lua: as + `define("b", "cidr", 60, 1)`},
			{Lua: as + `add("b")`, Err: "connected peer is unknown"},
		}},
	}
	for _, be := range st.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					clk := st.NewClock()
					lib := auditseries.New(auditseries.Options{Store: be.New(t, clk)})
					L := st.NewState(t, sc.peer, lib)
					advance(L, clk)
					st.Run(t, L, sc.steps)
				})
			}
		})
	}
}

// TestSharedDefinitions checks that a series defined in one state is
// usable from another state opened from the same library.
func TestSharedDefinitions(t *testing.T) {
	clk := st.NewClock()
	lib := auditseries.New(auditseries.Options{Store: st.Backends()[0].New(t, clk)})
	a := st.NewState(t, "192.0.2.1", lib)
	b := st.NewState(t, "192.0.2.2", lib)
	st.Run(t, a, []st.Step{{Lua: as + `define("s", "cidr", 60, 1)`}, {Lua: `(function() msys.audit_series.add("s") end)()`}})
	st.Run(t, b, []st.Step{{Lua: `(function() msys.audit_series.add("s") end)()`}, {Lua: as + `count("s", "/24")`, Want: "2"}})
}

func TestAddReturnsTheNewCount(t *testing.T) {
	for _, b := range st.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			clk := &st.Clock{}
			L := st.NewState(t, "", auditseries.New(auditseries.Options{Store: b.New(t, clk)}))
			st.Run(t, L, []st.Step{
				{Lua: as + `define("r", "string", 60, 1)`},
				{Lua: as + `add("r", "bob")`, Want: "1"},
				{Lua: as + `add("r", {key = "bob", count = 3})`, Want: "4"},
				{Lua: as + `add("r", "eve")`, Want: "1"},
			})
		})
	}
}
