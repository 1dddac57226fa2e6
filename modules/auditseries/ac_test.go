package auditseries_test

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/modules/auditseries"
	st "github.com/luamilter/luamilter/modules/store/storetest"
)

// TestAcceptConstructKey passes userdata shaped like the runtime's accept
// construct: its address is read through __index.
func TestAcceptConstructKey(t *testing.T) {
	clk := st.NewClock()
	lib := auditseries.New(auditseries.Options{Store: st.Backends()[0].New(t, clk)})
	L := st.NewState(t, "192.0.2.9", lib)
	mk := func(index lua.LValue) *lua.LUserData {
		ud := L.NewUserData()
		mt := L.NewTable()
		mt.RawSetString("__index", index)
		L.SetMetatable(ud, mt)
		return ud
	}
	fields := L.NewTable()
	fields.RawSetString("remote_addr", lua.LString("192.0.2.50:2525"))
	L.SetGlobal("ac", mk(fields))
	L.SetGlobal("ac_broken", mk(L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("no such field")
		return 0
	})))
	st.Run(t, L, []st.Step{
		{Lua: `msys.audit_series.define("s", "cidr", 60, 1)`},
		{Lua: `(function() msys.audit_series.add("s", ac) end)()`},
		{Lua: `(function() msys.audit_series.add("s", {key = ac, count = 2}) end)()`},
		{Lua: `msys.audit_series.count("s", "192.0.2.50")`, Want: "3"},
		{Lua: `(function() msys.audit_series.add("s", ac_broken) end)()`}, // falls back to the peer
		{Lua: `msys.audit_series.count("s")`, Want: "1"},
		{Lua: `msys.audit_series.count("s", ac)`, Want: "3"},
		{Lua: `msys.audit_series.add("s", true)`, Err: "key must be a string"},
	})
}
