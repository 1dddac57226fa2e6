package dialect

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestTranslateGenericFor(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"pairs", `for k, v in pairs(t) do end`, `for k, v in ITER(pairs(t)) do end`},
		{"value", `for k in t do end`, `for k in ITER(t) do end`},
		{"next and table", `for k, v in next, t do end`, `for k, v in ITER(next, t) do end`},
		{"three values", `for k in f, s, c do end`, `for k in ITER(f, s, c) do end`},
		{"glued", `for k in(t)do end`, `for k in ITER((t))do end`},
		{"method call", `for w in s:gmatch("%a+") do end`, `for w in ITER(s:gmatch("%a+")) do end`},
		{"string call", `for x in f"s" do end`, `for x in ITER(f"s") do end`},
		{"lines kept", "for k in\n  a,\n  b -- c\ndo end", "for k in\n  ITER(a,\n  b) -- c\ndo end"},
		{"with operators", `for k in f(a | b), ~c do end`, `for k in ITER(f(OR(a, b)), NOT(c)) do end`},
		{"nested", "for a in x do for b in y do end end", "for a in ITER(x) do for b in ITER(y) do end end"},
		{"in a function", `local f = function() for _ in t do end end`, `local f = function() for _ in ITER(t) do end end`},
		{"numeric for untouched", `for i = 1, 10 do end`, `for i = 1, 10 do end`},
		{"in a string", `s = "for k in t do end"`, `s = "for k in t do end"`},
		// translating twice changes nothing more
		{"already wrapped", `for k in ` + HelperIter + `(t) do end`, `for k in ITER(t) do end`},
		{"wrapped but more", `for k in ` + HelperIter + `(t), x do end`, `for k in ITER(ITER(t), x) do end`},
		{"wrapped then called", `for k in ` + HelperIter + `(t)(x) do end`, `for k in ITER(ITER(t)(x)) do end`},
		// a chunk gopher-lua can't parse is left to its compiler
		{"syntax error", `for k in do end`, `for k in do end`},
	}
	abbrev := strings.NewReplacer(HelperIter, "ITER", HelperOr, "OR", HelperNot, "NOT")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Translate("t", []byte(tc.in))
			if err != nil {
				t.Fatalf("Translate(%q): %v", tc.in, err)
			}
			got := strings.ReplaceAll(abbrev.Replace(string(out)), " , ", ", ")
			if got != tc.want {
				t.Errorf("Translate(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			again, err := Translate("t", out)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("translating %q again gives %q, %v", out, again, err)
			}
		})
	}
}

// TestIterEvent runs generic for loops over values with and without
// thrLua's __iter metamethod.
func TestIterEvent(t *testing.T) {
	const setup = `local function collect(...)
  local out = {}
  for a, b in ... do out[#out + 1] = tostring(a) .. "=" .. tostring(b) end
  return table.concat(out, " ")
end
local list = {"one", "two"}
`
	tests := []struct{ name, src, want string }{
		{"doc example", `local t = setmetatable({"one", "two"}, {__iter = ipairs})
			local out = ""
			for _, v in t do out = out .. v end
			return out`, "onetwo"},
		{"custom iterator", `local t = setmetatable({}, {__iter = function(o) return ipairs(list) end})
			return collect(t)`, "1=one 2=two"},
		{"stateful iterator", `local t = setmetatable({n = 3}, {__iter = function(o)
				local i = 0
				return function() i = i + 1; if i <= o.n then return i, i * i end end
			end})
			return collect(t)`, "1=1 2=4 3=9"},
		{"state and initial", `local t = setmetatable({}, {__iter = function(o)
				return function(s, c) if c < s then return c + 1, s end end, 2, 0
			end})
			return collect(t)`, "1=2 2=2"},
		{"object alone", `local t
			t = setmetatable({}, {__iter = function(...)
				local n, o = select("#", ...), ...
				return function(_, c) if not c then return n, rawequal(o, t) end end
			end})
			for a, b in t, "state", "control" do return a .. " " .. tostring(b) end`, "1 true"},
		{"called once per loop", `local calls = 0
			local t = setmetatable({}, {__iter = function() calls = calls + 1; return ipairs(list) end})
			for _ in t do end
			for _ in t do end
			return calls`, "2"},
		{"protected metatable", `local t = setmetatable({}, {__metatable = false, __iter = function() return ipairs(list) end})
			return collect(t)`, "1=one 2=two"},
		{"pairs unchanged", `return collect(pairs({x = 1}))`, "x=1"},
		{"ipairs unchanged", `return collect(ipairs(list))`, "1=one 2=two"},
		{"next unchanged", `return collect(next, {y = 2})`, "y=2"},
		// gopher-lua leaves the control variable of "in next, t" as the
		// previous loop left it, so a second run of the loop ran no
		// iteration; as an argument list the explist is padded with nil.
		{"next twice", `local t, s = {1, 2, 3}, 0
			for _ = 1, 2 do for k, v in next, t do s = s + v end end
			return s`, "12"},
		{"explicit triple", `return collect(function(s, c) if c < s then return c + 1, c end end, 2, 0)`, "1=0 2=1"},
		{"only first decides", `local t = setmetatable({}, {__iter = function() error("not used") end})
			return collect(next, t)`, ""},
		{"function with __iter-looking table", `local mt = {__iter = function() error("not used") end}
			return collect(ipairs(setmetatable({"a"}, mt)))`, "1=a"},
		{"call truncated", `local function two() return next, {z = 3} end
			local out = ""
			for k in two(), {w = 1} do out = out .. k end
			return out`, "w"},
		{"gmatch", `local out = ""; for w in ("a bc"):gmatch("%a+") do out = out .. w .. ";" end; return out`, "a;bc;"},
		{"callable without __iter", `local t = setmetatable({}, {__call = function(self, s, c)
				c = (c or 0) + 1
				if c <= 2 then return c, "call" end
			end})
			return collect(t)`, "1=call 2=call"},
		{"callable with __iter", `local t = setmetatable({}, {
				__call = function() error("not used") end,
				__iter = function() return ipairs(list) end})
			return collect(t)`, "1=one 2=two"},
		{"through loadstring text", `local t = setmetatable({}, {__iter = function() return ipairs(list) end})
			local n = 0
			for i in t do n = n + i end
			return n`, "3"},
		{"userdata", `return collect(ud)`, "1=u 2=d"},
		{"__iter from getmetatable", `local t = setmetatable({}, {__iter = function(o) return getmetatable(o).__index, o end, __index = {}})
			getmetatable(t).__iter = function(o) return ipairs({"m"}) end
			return collect(t)`, "1=m"},
	}
	L := newState(t)
	ud := L.NewUserData()
	mt := L.NewTable()
	mt.RawSetString("__iter", L.NewFunction(func(L *lua.LState) int {
		L.Push(L.GetGlobal("ipairs"))
		L.Push(L.NewTable())
		L.Get(-1).(*lua.LTable).Append(lua.LString("u"))
		L.Get(-1).(*lua.LTable).Append(lua.LString("d"))
		L.Call(1, 3)
		return 3
	}))
	ud.Metatable = mt
	L.SetGlobal("ud", ud)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := run(t, L, setup+tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestIterErrors checks that a value that is neither a function nor has
// a function as __iter fails as it does without the rewrite, at the
// loop's line, and that an error inside __iter comes through.
func TestIterErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
		unchanged       bool // plain gopher-lua gives the very same error
	}{
		{"table", "local t = {}\nfor k in t do end", "policy.lua:2: attempt to call", true},
		{"nil", "\n\nfor k in nil do end", "policy.lua:3: attempt to call", true},
		{"empty call", "local function none() end\nfor k in none() do end", "policy.lua:2: attempt to call", true},
		{"number", "for k in 1, 2 do end", "policy.lua:1: attempt to call", true},
		{"__iter not a function", "local t = setmetatable({}, {__iter = {}})\nfor k in t do end", "policy.lua:2: attempt to call", true},
		{"__iter fails", "local t = setmetatable({}, {__iter = function() error('inside') end})\n\nfor k in t do end", "policy.lua:1: inside", false},
		{"__iter returns no function", "local t = setmetatable({}, {__iter = function() return 5 end})\nfor k in t do end", "policy.lua:2: attempt to call", false},
	}
	L := newState(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, L, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !tc.unchanged {
				return
			}
			fn, lerr := L.Load(strings.NewReader(tc.src), "policy.lua")
			if lerr != nil {
				t.Fatal(lerr)
			}
			L.Push(fn)
			plain := L.PCall(0, 0, nil)
			if plain == nil || firstLine(plain.Error()) != firstLine(err.Error()) {
				t.Errorf("error %q, without the rewrite %q", firstLine(err.Error()), plain)
			}
		})
	}
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

// BenchmarkGenericFor compares loops over pairs and ipairs with and
// without the HelperIter rewrite: the rewrite costs one Go call per loop,
// not per iteration. ("in next, t" is left out: untranslated, gopher-lua
// skips every run of such a loop after the first in a call, see
// TestIterEvent.)
func BenchmarkGenericFor(b *testing.B) {
	for _, n := range []int{0, 1, 10, 100} {
		for _, loop := range []struct{ name, src string }{
			{"pairs", "for k, v in pairs(t) do s = s + v end"},
			{"ipairs", "for i, v in ipairs(t) do s = s + v end"},
		} {
			src := fmt.Sprintf(`local t = {}
for i = 1, %d do t[i] = i end
return function()
  local s = 0
  for _ = 1, 100 do %s end
  return s
end`, n, loop.src)
			for _, mode := range []string{"plain", "translated"} {
				b.Run(fmt.Sprintf("%s/n=%d/%s", loop.name, n, mode), func(b *testing.B) {
					L := newState(b)
					code := []byte(src)
					if mode == "translated" {
						var err error
						if code, err = Translate("bench.lua", code); err != nil {
							b.Fatal(err)
						}
						if !bytes.Contains(code, []byte(HelperIter)) {
							b.Fatal("not rewritten")
						}
					}
					fn, err := L.Load(bytes.NewReader(code), "bench.lua")
					if err != nil {
						b.Fatal(err)
					}
					L.Push(fn)
					L.Call(0, 1)
					loop := L.Get(-1)
					L.Pop(1)
					b.ReportMetric(100, "loops/op")
					for b.Loop() {
						L.Push(loop)
						L.Call(0, 1)
						L.Pop(1)
					}
				})
			}
		}
	}
}
