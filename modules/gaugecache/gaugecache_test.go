package gaugecache_test

import (
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/modules/gaugecache"
	st "github.com/luamilter/luamilter/modules/store/storetest"
)

const gc = "msys.gauge_cache."

func TestGaugeCache(t *testing.T) {
	steps := []st.Step{
		{Lua: gc + `define("conns", 100, 60)`},
		{Lua: gc + `define("conns", 100, 60, true)`},
		{Lua: gc + `inc("conns", "a")`, Want: "1"},
		{Lua: gc + `inc("conns", "a")`, Want: "2"},
		{Lua: gc + `inc("conns", "b")`, Want: "1"},
		{Lua: gc + `dec("conns", "a")`, Want: "1"},
		{Lua: gc + `get("conns", "a")`, Want: "1"},
		{Lua: gc + `get("conns", "zzz")`, Want: "0"},
		{Lua: gc + `dec("conns", "b")`, Want: "0"},
		{Lua: gc + `dec("conns", "b")`, Want: "0"},
		{Lua: gc + `remove_item("conns", "a")`},
		{Lua: gc + `get("conns", "a")`, Want: "0"},
		{Lua: gc + `inc("nope", "a")`, Err: `gauge cache "nope" is not defined`},
		{Lua: gc + `define("bad", 0, 60)`, Err: "maxelems 0"},
		{Lua: gc + `define("bad", 10, 0)`, Err: "ttl"},
		{Lua: gc + `inc("conns")`, Err: "bad argument #2"},
	}
	for _, be := range st.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			lib := gaugecache.New(gaugecache.Options{Store: be.New(t, st.NewClock())})
			st.Run(t, st.NewState(t, "", lib), steps)
		})
	}
}

// TestGaugeTTL uses the in-process store, whose clock the test controls.
func TestGaugeTTL(t *testing.T) {
	clk := st.NewClock()
	lib := gaugecache.New(gaugecache.Options{Store: st.Backends()[0].New(t, clk)})
	L := st.NewState(t, "", lib)
	L.SetGlobal("advance", L.NewFunction(func(L *lua.LState) int {
		clk.Advance(time.Duration(L.CheckNumber(1)) * time.Second)
		return 0
	}))
	st.Run(t, L, []st.Step{
		{Lua: gc + `define("g", 2, 60)`},
		{Lua: gc + `inc("g", "a")`, Want: "1"},
		{Lua: `advance(50)`},
		{Lua: gc + `inc("g", "a")`, Want: "2"},
		{Lua: `advance(50)`},
		{Lua: gc + `get("g", "a")`, Want: "2"},
		{Lua: `advance(10)`},
		{Lua: gc + `get("g", "a")`, Want: "0"},
		{Lua: gc + `inc("g", "x")`, Want: "1"},
		{Lua: gc + `inc("g", "y")`, Want: "1"},
		{Lua: gc + `inc("g", "z")`, Want: "1"}, // maxelems 2: x goes
		{Lua: gc + `get("g", "x")`, Want: "0"},
		{Lua: gc + `get("g", "y")`, Want: "1"},
	})
}
