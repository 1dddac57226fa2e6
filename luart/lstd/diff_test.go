package lstd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// luaNumber returns a Lua expression evaluating to exactly v in both
// interpreters.
func luaNumber(v float64) string {
	switch {
	case math.IsNaN(v) && math.Signbit(v):
		return "(0/0)"
	case math.IsNaN(v):
		return "(-(0/0))"
	case math.IsInf(v, 1):
		return "(1/0)"
	case math.IsInf(v, -1):
		return "(-1/0)"
	case v == 0 && math.Signbit(v):
		return "(-1/(1/0))"
	}
	return "(" + strconv.FormatFloat(v, 'g', 17, 64) + ")"
}

// numberPool is a mix of edge values and random magnitudes.
func numberPool(r *rand.Rand, n int) []float64 {
	pool := []float64{0, math.Copysign(0, -1), 1, -1, 3.7, -3.7, 0.5, 1.5, 2.5, -2.5, 0.1, 1e15, 1e16, 1e14,
		123456789012345, 1e100, 1e-5, 1e-4, 9.5, 99.5, 0.05, 2147483647, 2147483648, -2147483648, -2147483649,
		4294967295, 4294967296, math.Pow(2, 53), math.Pow(2, 63), -math.Pow(2, 63), math.Pow(2, 64),
		1e300, 1e-300, 5e-324, math.MaxFloat64, math.Pi, -math.E, math.Inf(1), math.Inf(-1),
		math.Float64frombits(0xFFF8000000000000), math.Float64frombits(0x7FF8000000000000), 65, 255, 256, 321, -190}
	for len(pool) < n {
		switch r.IntN(5) {
		case 0:
			pool = append(pool, float64(r.Int64N(1<<20)-1<<19))
		case 1:
			pool = append(pool, (r.Float64()-0.5)*math.Pow(10, float64(r.IntN(40)-20)))
		case 2:
			pool = append(pool, math.Float64frombits(r.Uint64()))
		case 3:
			pool = append(pool, float64(r.IntN(2000)-1000)/8)
		default:
			pool = append(pool, float64(r.Int64()))
		}
	}
	return pool
}

func randomBytes(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func stringPool(r *rand.Rand) []string {
	pool := []string{"", "abc", "hello world", "a\x00b", "\x00", "10", " 0x1f ", "3.5e2", "-7", "x\ny\r\"\\z",
		strings.Repeat("long", 30), strings.Repeat("\x00\xff", 60)}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	pool = append(pool, string(all))
	for i := 0; i < 20; i++ {
		pool = append(pool, randomBytes(r, r.IntN(12)))
	}
	return pool
}

func randomDirective(r *rand.Rand) (string, byte) {
	var b strings.Builder
	b.WriteByte('%')
	nflags := r.IntN(4)
	if r.IntN(40) == 0 {
		nflags = 6
	}
	for i := 0; i < nflags; i++ {
		b.WriteByte("-+ #0"[r.IntN(5)])
	}
	switch r.IntN(4) {
	case 1:
		b.WriteString(strconv.Itoa(r.IntN(10)))
	case 2:
		b.WriteString(strconv.Itoa(10 + r.IntN(90)))
	case 3:
		if r.IntN(10) == 0 {
			b.WriteString(strconv.Itoa(100 + r.IntN(900)))
		}
	}
	switch r.IntN(4) {
	case 1:
		b.WriteString(".")
	case 2:
		b.WriteString("." + strconv.Itoa(r.IntN(20)))
	case 3:
		b.WriteString("." + strconv.Itoa(r.IntN(100)))
	}
	conv := "diouxXceEfgGqs"[r.IntN(14)]
	if r.IntN(50) == 0 {
		conv = "yl%hLn!"[r.IntN(7)]
	}
	b.WriteByte(conv)
	return b.String(), conv
}

func TestDiffFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	nums := numberPool(r, 300)
	strs := stringPool(r)
	var cases []diffCase
	for i := 0; i < 4000; i++ {
		d, conv := randomDirective(r)
		var arg string
		switch {
		case conv == 's' || conv == 'q':
			if r.IntN(3) == 0 {
				arg = luaNumber(nums[r.IntN(len(nums))])
			} else {
				arg = luaString(strs[r.IntN(len(strs))])
			}
		case r.IntN(30) == 0:
			arg = []string{"nil", "true", "{}", luaString("12"), luaString("0x10"), luaString("zz")}[r.IntN(6)]
		default:
			arg = luaNumber(nums[r.IntN(len(nums))])
		}
		cases = append(cases, ret(fmt.Sprintf("string.format(%s, %s)", luaString("<"+d+">"), arg)))
	}
	// Several directives and literal text in one format.
	for i := 0; i < 300; i++ {
		d1, _ := randomDirective(r)
		d2, _ := randomDirective(r)
		cases = append(cases, ret(fmt.Sprintf("string.format(%s, %s, %s)", luaString("a"+d1+" %% b"+d2+"c"),
			luaNumber(nums[r.IntN(len(nums))]), luaNumber(nums[r.IntN(len(nums))]))))
	}
	fixed := []string{`string.format("%d")`, `string.format("%s")`, `string.format("%d", "x")`, `string.format()`,
		`string.format("%")`, `string.format("abc%")`, `string.format("%5", 1)`, `string.format("%-----5d", 1)`,
		`string.format("%------d", 1)`, `string.format("%123d", 1)`, `string.format("%.123f", 1)`,
		`string.format(12, 1)`, `string.format("%c%c%c", 76, 117, 97)`, `string.format("%5.1s|", "abc")`,
		`string.format("%q", 1/3)`, `string.format("%q", "\0\1\r\n\t\"\\")`, `string.format("%s %s", 1, 2)`}
	for _, f := range fixed {
		cases = append(cases, ret(f))
	}
	diffRun(t, "string.format", cases, DefaultLimits(), nil)
}

func TestDiffToString(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var cases []diffCase
	for _, v := range numberPool(r, 2000) {
		cases = append(cases, ret("tostring("+luaNumber(v)+")"))
	}
	for e := -30; e <= 30; e++ {
		cases = append(cases, ret(fmt.Sprintf("tostring(1e%d)", e)), ret(fmt.Sprintf("tostring(-1.5e%d)", e)))
	}
	for _, s := range []string{"nil", "true", "false", `"x"`, "2^53", "2^63", "-(2^63)", "1/3", "100/3", "0.1+0.2"} {
		cases = append(cases, ret("tostring("+s+")"))
	}
	cases = append(cases, ret("tostring()"), ret(`tostring(setmetatable({}, {__tostring = function() return "obj" end}))`),
		ret(`tostring(setmetatable({}, {__tostring = function() return 42 end}))`))
	diffRun(t, "tostring", cases, DefaultLimits(), nil)
}

func numericString(r *rand.Rand) string {
	parts := []string{"", " ", "\t", "\n", "\v", "\f", "\r"}
	var b strings.Builder
	b.WriteString(parts[r.IntN(len(parts))])
	if r.IntN(3) == 0 {
		b.WriteByte("+-"[r.IntN(2)])
	}
	switch r.IntN(8) {
	case 0:
		b.WriteString([]string{"0x", "0X", "0x.", "0x1p", "0X1P-3", "0xg", "0x1.8p1", "0xFFFFFFFFFFFFFFFFFF"}[r.IntN(8)])
	case 1:
		b.WriteString([]string{"inf", "INF", "infinity", "infin", "nan", "NaN(12ab)", "nan(", "in"}[r.IntN(8)])
	case 2:
		b.WriteString(randomBytes(r, r.IntN(4)))
	default:
		for n := r.IntN(25); n > 0; n-- {
			b.WriteByte("0123456789abcdefxzXZ.eE+-p "[r.IntN(27)])
		}
	}
	if r.IntN(4) == 0 {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	if r.IntN(20) == 0 {
		b.WriteString("\x001")
	}
	return b.String()
}

func TestDiffToNumber(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var cases []diffCase
	fixed := []string{"", " ", "1e2", "0x10", "010", "1e", ".", ".5", "5.", "0x", "0x.8", "1 2", " 12 ", "1e500", "-1e500",
		"1e-400", "0x1p4", "99999999999999999999", "123456789012345678901234567890", "0.1", "-0", "  -0x1F  "}
	for _, s := range fixed {
		cases = append(cases, ret("tonumber("+luaString(s)+")"))
	}
	for i := 0; i < 2500; i++ {
		s := luaString(numericString(r))
		if r.IntN(3) == 0 {
			cases = append(cases, ret(fmt.Sprintf("tonumber(%s, %d)", s, 2+r.IntN(35))))
		} else {
			cases = append(cases, ret("tonumber("+s+")"))
		}
	}
	for _, e := range []string{`tonumber()`, `tonumber(nil)`, `tonumber({})`, `tonumber("10", 1)`, `tonumber("10", 37)`,
		`tonumber("10", "16")`, `tonumber(10, 16)`, `tonumber(nil, 16)`, `tonumber("ff", 16.9)`, `tonumber("1", "x")`,
		`tonumber("-ff", 16)`, `tonumber("zz", 36)`, `tonumber("0x10", 16)`, `tonumber("  11  ", 2)`, `tonumber(true)`} {
		cases = append(cases, ret(e))
	}
	diffRun(t, "tonumber", cases, DefaultLimits(), nil)
}

func TestDiffCase(t *testing.T) {
	var cases []diffCase
	for c := 0; c < 256; c++ {
		s := luaString(string([]byte{byte(c), 'a', 'Z'}))
		cases = append(cases, ret("string.lower("+s+")"), ret("string.upper("+s+")"))
	}
	cases = append(cases, ret("string.lower(12)"), ret("string.upper()"), ret("string.lower({})"))
	diffRun(t, "lower/upper", cases, DefaultLimits(), nil)
}

// dateFormats covers every conversion character, valid or not.
func dateFormats() []string {
	var fs []string
	for c := 33; c < 127; c++ {
		fs = append(fs, "%"+string(rune(c)))
	}
	return append(fs, "%c", "x%Y-%m-%d %H:%M:%S%", "%", "", "*t", "%-d", "%Ec", "a\x00%Y")
}

func TestDiffOSDate(t *testing.T) {
	stamps := []int64{0, 1, 86399, 951782400, 1700000000, 1795789800, 1782921600, 1772955000, 1793514600,
		-1, -86400 * 365, 253402300799, 4102444800, -62198452800, -30641457600, 2147483647, 2147483648}
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"}
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Logf("skipping zone %s: %v", zone, err)
			continue
		}
		var cases []diffCase
		for _, ts := range stamps {
			for _, f := range dateFormats() {
				cases = append(cases, ret(fmt.Sprintf("os.date(%s, %d)", luaString(f), ts)))
				cases = append(cases, ret(fmt.Sprintf("os.date(%s, %d)", luaString("!"+f), ts)))
			}
		}
		for _, e := range []string{`os.date("%Y", 1e18)`, `os.date("!%Y", -1e18)`, `os.date("%c", "x")`, `os.date({})`,
			`os.date("%Y", 1e10)`, `os.date("%Y", 2^40 + 0.9)`} {
			cases = append(cases, ret(e))
		}
		cases = append(cases, osTimeCases()...)
		lim := DefaultLimits()
		lim.Location = loc
		diffRun(t, "os.date/os.time TZ="+zone, cases, lim, []string{"TZ=" + zone})
	}
}

func osTimeCases() []diffCase {
	var cases []diffCase
	for _, tb := range []string{
		"{year=2026,month=11,day=25,hour=14,min=30,sec=0}", "{year=2026,month=13,day=1}", "{year=2026,month=0,day=0}",
		"{year=2026,month=2,day=30,hour=25,min=-1,sec=61}", "{year=2026,month=7,day=1,isdst=true}",
		"{year=2026,month=7,day=1,isdst=false}", "{year=2026,month=1,day=1,isdst=true}", "{year=2026,month=1,day=1,isdst=false}",
		"{year=2026,month=3,day=8,hour=2,min=30}", "{year=2026,month=11,day=1,hour=1,min=30}",
		"{year=2026,month=3,day=29,hour=2,min=30}", "{year=2026,month=10,day=25,hour=2,min=30}",
		"{year=1969,month=12,day=31,hour=23,min=59,sec=59}", `{year="2026",month="7",day=1.9,sec=2^32+5}`,
		"{year=2026}", "{day=1}", "{day=1,month=1}", "{year=1900,month=1,day=1}", "{year=3000,month=1,day=1}",
		"{year=2026,month=1,day=1,hour=\"x\"}",
	} {
		cases = append(cases, ret("os.time("+tb+")"))
	}
	return append(cases, ret("os.time(1)"), ret(`type(os.time())`), ret("os.difftime(10, 3)"), ret("os.difftime(10.9)"),
		ret(`os.difftime("5", 2.5)`), ret("os.difftime()"), ret(`type(os.clock())`))
}

func TestDiffMisc(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var cases []diffCase
	for _, v := range numberPool(r, 150) {
		n := luaNumber(v)
		for _, f := range []string{"floor", "ceil", "abs", "modf", "frexp"} {
			cases = append(cases, ret("math."+f+"("+n+")"))
		}
		// Go's and glibc's transcendental functions may differ in the
		// last bits, so those are compared with a tolerance.
		for _, f := range []string{"sqrt", "log", "log10", "exp", "sin", "acos"} {
			cases = append(cases, approx("math."+f+"("+n+")"))
		}
		for _, w := range []string{"0", "1", "-2.5", "(1/0)", "(0/0)"} {
			cases = append(cases, ret("math.fmod("+n+", "+w+")"), ret("math.mod("+n+", "+w+")"),
				approx("math.pow("+n+", "+w+")"), ret("math.max("+n+", "+w+")"), ret("math.min("+w+", "+n+")"))
		}
	}
	for _, e := range []string{"math.huge", "-math.huge", "math.pi", "math.max()", "math.min()", "math.floor()",
		"math.random(0)", "math.random(2, 1)", "math.random(1, 2, 3)", "math.random('x')", "math.random(1)",
		"math.random(3, 3)", "math.randomseed()", "math.fmod(1)", "math.ldexp(1, 2.9)",
		`string.rep("ab", 3)`, `string.rep("ab", 0)`, `string.rep("ab", -1)`, `string.rep("", 5)`, `string.rep()`,
		`string.rep("x", "3")`, `string.rep(5, 2)`,
		`table.concat({1, 2, "x", 1.5, 1e15}, ", ")`, `table.concat({}, "x")`, `table.concat({1, {}, 3})`,
		`table.concat({1, 2, 3}, "-", 2)`, `table.concat({1, 2, 3}, "-", 2, 5)`, `table.concat({1, 2, 3}, "-", 3, 1)`,
		`table.concat(nil, {})`, `table.concat({"a"}, nil, "2")`, `table.concat({"a", "b"}, 1)`, `table.concat()`,
		`table.concat({true})`, `table.getn({1, 2, 3})`, `table.getn()`, `table.setn({}, 1)`, `table.setn(1)`,
		`table.maxn({1, 2, [10] = 1, [20.5] = 1, [-5] = 1, x = 1})`, `table.maxn({})`, `table.maxn()`,
		`table.foreach({10}, function(k, v) return k + v end)`, `table.foreach({}, print)`, `table.foreach({}, 1)`,
		`table.foreachi({5, 6, 7}, function(i, v) if v == 6 then return i end end)`, `table.foreachi({1})`,
		`select("#", unpack({1, 2, 3}))`, `select("#", unpack({}, 1, 4000))`, `unpack({}, 1, 7998)`,
		`unpack({}, 1, 1e9)`, `select("#", unpack({1, 2}, 3))`, `unpack({1, 2, 3}, 2)`, `unpack()`,
		`unpack({}, -2^31, 2^31)`, `collectgarbage("count") > 0`, `collectgarbage()`, `collectgarbage("collect")`,
		`collectgarbage("bogus")`, `collectgarbage("setpause", 150)`, `collectgarbage("setstepmul", 300)`,
		`type(gcinfo())`, `select("#", unpack({n = 3}))`,
	} {
		cases = append(cases, ret(e))
	}
	diffRun(t, "math/table/base", cases, DefaultLimits(), nil)
}
