package counter_test

import (
	"testing"

	"github.com/luamilter/luamilter/modules/counter"
	st "github.com/luamilter/luamilter/modules/store/storetest"
)

func TestCounter(t *testing.T) {
	steps := []st.Step{
		{Lua: `msys.counter.read("/lua/test")`, Want: "0"},
		{Lua: `(function() ct = msys.counter.open("/lua/test") return ct ~= nil end)()`, Want: "true"},
		{Lua: `msys.counter.inc(ct)`, Want: "1"},
		{Lua: `msys.counter.inc("/lua/test")`, Want: "2"},
		{Lua: `msys.counter.add(msys.counter.open("/lua/test", msys.counter.RELAXED), 1024)`, Want: "1026"},
		{Lua: `msys.counter.read(ct)`, Want: "1026"},
		{Lua: `tostring(ct)`, Want: "msys.counter: /lua/test"},
		{Lua: `msys.counter.reset(ct)`},
		{Lua: `msys.counter.read("/lua/test")`, Want: "0"},
		{Lua: `msys.counter.add("/lua/test", 5)`, Want: "5"},
		{Lua: `msys.counter.unlink("/lua/test")`},
		{Lua: `msys.counter.read(ct)`, Want: "0"},
		{Lua: `msys.counter.open("")`, Err: "empty counter path"},
		{Lua: `msys.counter.open("/x", 7)`, Err: "semantics 7"},
		{Lua: `msys.counter.inc({})`, Err: "counter or path expected"},
		{Lua: `msys.counter.add("/x")`, Err: "bad argument #2"},
	}
	for _, be := range st.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			lib := counter.New(counter.Options{Store: be.New(t, st.NewClock())})
			st.Run(t, st.NewState(t, "", lib), steps)
		})
	}
}
