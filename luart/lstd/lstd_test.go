package lstd

import (
	"math"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// eval runs "return <expr>" in a fresh state with lim and returns the
// result converted with ToStringValue, or the error text.
func eval(t *testing.T, lim Limits, expr string) (string, error) {
	t.Helper()
	L := newState(lim)
	defer L.Close()
	if err := L.DoString("result = " + expr); err != nil {
		return "", err
	}
	return ToStringValue(L, L.GetGlobal("result")), nil
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "-0"}, {1, "1"}, {-1, "-1"}, {0.1, "0.1"}, {1e15, "1e+15"},
		{1e14, "1e+14"}, {99999999999999, "99999999999999"}, {math.Pow(2, 53), "9.007199254741e+15"},
		{1.0 / 3, "0.33333333333333"}, {1e-5, "1e-05"}, {123.456, "123.456"}, {math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"}, {negNaN, "-nan"}, {math.NaN(), "nan"}, {5e-324, "4.9406564584125e-324"},
		{math.MaxFloat64, "1.7976931348623e+308"}, {-2.5, "-2.5"},
	}
	for _, tt := range tests {
		if got := FormatNumber(tt.in); got != tt.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestToNumber(t *testing.T) {
	tests := []struct {
		in   string
		base int
		want float64
		ok   bool
	}{
		{"1e2", 10, 100, true}, {"0x10", 10, 16, true}, {"010", 10, 10, true}, {"", 10, 0, false},
		{"1e", 10, 0, false}, {"  12\t\n", 10, 12, true}, {"0x1p4", 10, 16, true}, {".5", 10, 0.5, true},
		{"5.", 10, 5, true}, {".", 10, 0, false}, {"0x", 10, 0, false}, {"1 2", 10, 0, false},
		{"12\x00junk", 10, 12, true}, {"-inf", 10, math.Inf(-1), true}, {"1e500", 10, math.Inf(1), true},
		{"ff", 16, 255, true}, {"0xff", 16, 255, true}, {"zz", 36, 1295, true}, {"12", 2, 0, false},
		{"-1", 16, math.MaxUint64, true}, {" 11 ", 2, 3, true}, {"1.5", 16, 0, false}, {"10", 37, 0, false},
		{"10", 1, 0, false},
	}
	for _, tt := range tests {
		got, ok := ToNumber(tt.in, tt.base)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("ToNumber(%q, %d) = %v, %v; want %v, %v", tt.in, tt.base, got, ok, tt.want, tt.ok)
		}
	}
	if v, ok := ToNumber("nan", 10); !ok || !math.IsNaN(v) {
		t.Errorf("ToNumber(nan) = %v, %v", v, ok)
	}
}

func TestBuiltins(t *testing.T) {
	small := DefaultLimits()
	small.MaxStringSize = 1000
	narrow := DefaultLimits()
	narrow.MaxFormatWidth = 10
	tests := []struct {
		name, expr string
		lim        Limits
		want       string // result, or error substring when wantErr
		wantErr    bool
	}{
		{"format %x of -1", `string.format("%x", -1)`, DefaultLimits(), "ffffffffffffffff", false},
		{"format %d truncates", `string.format("%d|%d", 3.7, -3.7)`, DefaultLimits(), "3|-3", false},
		{"format %u", `string.format("%u", 42)`, DefaultLimits(), "42", false},
		{"format %5.2s", `string.format("[%5.2s]", "abc")`, DefaultLimits(), "[   ab]", false},
		{"format %q", `string.format("%q", "a\nb\rc\0d")`, DefaultLimits(), "\"a\\\nb\\rc\\000d\"", false},
		{"format %s tostring", `string.format("%s|%s|%s", nil, true, setmetatable({}, {__tostring = function() return "T" end}))`, DefaultLimits(), "nil|true|T", false},
		{"format %s number", `string.format("%s", 1e15)`, DefaultLimits(), "1e+15", false},
		{"format missing arg", `string.format("%d %d", 1)`, DefaultLimits(), "bad argument #3 to 'format' (no value)", true},
		{"format invalid option", `string.format("%y", 1)`, DefaultLimits(), "invalid option '%y' to 'format'", true},
		{"format width 3 digits", `string.format("%100d", 1)`, DefaultLimits(), "invalid format (width or precision too long)", true},
		{"format width over limit", `string.format("%11d", 1)`, narrow, "invalid format (width or precision too long)", true},
		{"format width at limit", `string.format("%10d", 1)`, narrow, "         1", false},
		{"format too large", `string.format("%s%s", string.rep("x", 600), string.rep("y", 600))`, small, "string.format result too large", true},
		{"rep", `string.rep("ab", 3)`, DefaultLimits(), "ababab", false},
		{"rep negative", `string.rep("ab", -3)`, DefaultLimits(), "", false},
		{"rep too large", `string.rep("ab", 501)`, small, "string.rep result too large (1002 bytes; limit 1000)", true},
		{"rep at limit", `#string.rep("ab", 500)`, small, "1000", false},
		{"concat", `table.concat({1, "b", 2.5, 1e15}, ",")`, DefaultLimits(), "1,b,2.5,1e+15", false},
		{"concat range", `table.concat({"a", "b", "c"}, "", 2, 3)`, DefaultLimits(), "bc", false},
		{"concat bad item", `table.concat({"a", {}})`, DefaultLimits(), "invalid value (table) at index 2 in table for 'concat'", true},
		{"concat too large", `table.concat({string.rep("x", 600), string.rep("y", 600)})`, small, "table.concat result too large", true},
		{"lower/upper", `string.lower("ABC\200\255xyz") .. string.upper("abc\200\255XYZ")`, DefaultLimits(), "abc\xc8\xffxyzABC\xc8\xffXYZ", false},
		{"tostring numbers", `tostring(1e15) .. " " .. tostring(2^53) .. " " .. tostring(1/0) .. " " .. tostring(10)`, DefaultLimits(), "1e+15 9.007199254741e+15 inf 10", false},
		{"tonumber", `tonumber("0x10") + tonumber(" 010 ") + tonumber("1e2")`, DefaultLimits(), "126", false},
		{"tonumber empty", `tonumber("")`, DefaultLimits(), "nil", false},
		{"tonumber base", `tonumber("10", 99)`, DefaultLimits(), "bad argument #2 to 'tonumber' (base out of range)", true},
		{"getn", `table.getn({1, 2, 3})`, DefaultLimits(), "3", false},
		{"setn", `table.setn({}, 3)`, DefaultLimits(), "'setn' is obsolete", true},
		{"maxn", `table.maxn({1, [7] = 1, [9.5] = 1})`, DefaultLimits(), "9.5", false},
		{"foreachi", `table.foreachi({5, 6}, function(i, v) if v == 6 then return i * 10 end end)`, DefaultLimits(), "20", false},
		{"foreach", `table.foreach({x = 1}, function(k, v) return k .. v end)`, DefaultLimits(), "x1", false},
		{"unpack", `select("#", unpack({1, 2, 3}))`, DefaultLimits(), "3", false},
		{"unpack huge", `unpack({}, 1, 1e9)`, DefaultLimits(), "too many results to unpack", true},
		{"random empty", `math.random(0)`, DefaultLimits(), "bad argument #1 to 'random' (interval is empty)", true},
		{"random args", `math.random(1, 2, 3)`, DefaultLimits(), "wrong number of arguments", true},
		{"random huge", `math.random(2^40)`, DefaultLimits(), "bad argument #1 to 'random' (interval is empty)", true},
		{"math.huge", `math.huge`, DefaultLimits(), "inf", false},
		{"math.mod", `math.mod(-5.5, 2)`, DefaultLimits(), "-1.5", false},
		{"os.date utc", `os.date("!%c", 1795789800)`, DefaultLimits(), "Fri Nov 27 14:30:00 2026", false},
		{"os.date *t", `os.date("!*t", 0).isdst`, DefaultLimits(), "false", false},
		{"os.time rolls over", `os.date("!%Y-%m-%d", os.time{year=2026, month=13, day=1, hour=0} + os.time{year=1970, month=1, day=1, hour=0} * -1)`, utcLimits(), "2027-01-01", false},
		{"os.time missing day", `os.time{year=2026}`, DefaultLimits(), "field 'day' missing in date table", true},
		{"collectgarbage count", `collectgarbage("count") > 0`, DefaultLimits(), "true", false},
		{"collectgarbage collect", `collectgarbage("collect")`, DefaultLimits(), "0", false},
		{"collectgarbage bad", `collectgarbage("nope")`, DefaultLimits(), "bad argument #1 to 'collectgarbage' (invalid option 'nope')", true},
		{"gcinfo", `math.floor(gcinfo()) == gcinfo()`, DefaultLimits(), "true", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eval(t, tt.lim, tt.expr)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func utcLimits() Limits {
	lim := DefaultLimits()
	lim.Location = time.UTC
	return lim
}

func TestConcatManyItems(t *testing.T) {
	L := newState(DefaultLimits())
	defer L.Close()
	err := L.DoString(`local t = {} for i = 1, 100000 do t[i] = i end
		result = table.concat(t, ",")`)
	if err != nil {
		t.Fatal(err)
	}
	s := string(L.GetGlobal("result").(lua.LString))
	parts := strings.Split(s, ",")
	if len(parts) != 100000 || parts[0] != "1" || parts[99999] != "100000" {
		t.Fatalf("concat of 100000 items: %d parts, first %q last %q", len(parts), parts[0], parts[len(parts)-1])
	}
}

func TestRandomRangesAndSeed(t *testing.T) {
	L := newState(DefaultLimits())
	defer L.Close()
	err := L.DoString(`
		for i = 1, 2000 do
			local a, b, c = math.random(), math.random(5), math.random(-3, 3)
			assert(a >= 0 and a < 1 and b >= 1 and b <= 5 and c >= -3 and c <= 3 and b % 1 == 0)
		end
		math.randomseed(42); local x = {math.random(1000), math.random(1000), math.random()}
		math.randomseed(42); local y = {math.random(1000), math.random(1000), math.random()}
		assert(x[1] == y[1] and x[2] == y[2] and x[3] == y[3], "same seed, same sequence")
		assert(math.random(7, 7) == 7)`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestPrintLineAndToStringValue(t *testing.T) {
	L := newState(DefaultLimits())
	defer L.Close()
	var line string
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		line = PrintLine(L)
		return 0
	}))
	if err := L.DoString(`print(1e15, nil, true, "s", 0.1, setmetatable({}, {__tostring = function() return "obj" end}))`); err != nil {
		t.Fatal(err)
	}
	if want := "1e+15\tnil\ttrue\ts\t0.1\tobj"; line != want {
		t.Fatalf("PrintLine = %q, want %q", line, want)
	}
	err := L.DoString(`print(setmetatable({}, {__tostring = function() return {} end}))`)
	if err == nil || !strings.Contains(err.Error(), "'tostring' must return a string to 'print'") {
		t.Fatalf("bad __tostring: %v", err)
	}
}

func TestGCThrottle(t *testing.T) {
	th := NewGCThrottle(time.Hour)
	if !th.Collect() {
		t.Fatal("first collection should start")
	}
	if th.Collect() {
		t.Fatal("second collection within the interval should be skipped")
	}
	lim := DefaultLimits()
	lim.GC = th
	got, err := eval(t, lim, `collectgarbage("step")`)
	if err != nil || got != "false" {
		t.Fatalf("throttled step = %q, %v; want false", got, err)
	}
}

func TestInstallWithoutLibraries(t *testing.T) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	lua.OpenBase(L)
	Install(L, Limits{})
	if err := L.DoString(`assert(tostring(1e15) == "1e+15")`); err != nil {
		t.Fatal(err)
	}
}

func TestOSClock(t *testing.T) {
	got, err := eval(t, DefaultLimits(), `(function() local a = os.clock() local x = 0 for i = 1, 1e5 do x = x + i end return os.clock() >= a and a >= 0 end)()`)
	if err != nil || got != "true" {
		t.Fatalf("os.clock: %q, %v", got, err)
	}
}

func TestCheckSize(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	lim := Limits{MaxStringSize: 10}
	L.SetGlobal("check", L.NewFunction(func(L *lua.LState) int {
		lim.CheckSize(L, "msys.thing", L.CheckInt(1))
		return 0
	}))
	if err := L.DoString(`check(10)`); err != nil {
		t.Fatalf("size at the limit: %v", err)
	}
	err := L.DoString(`check(11)`)
	if err == nil || !strings.Contains(err.Error(), "msys.thing result too large (11 bytes; limit 10)") {
		t.Fatalf("size over the limit: %v", err)
	}
}
