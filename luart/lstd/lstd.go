// Package lstd replaces the parts of gopher-lua's standard library whose
// behaviour differs from the reference Lua 5.1 interpreter, so that policy
// scripts written for a C Lua 5.1 host see the same results, the same
// number formatting and the same error messages.
//
// Install is called once per state, after the standard libraries have been
// opened. It replaces, in place, string.format/rep/lower/upper/sub/byte/
// char/len/reverse, tostring, tonumber, unpack, select, error,
// table.concat/getn/setn/maxn/foreach/foreachi,
// math.random/randomseed/huge/mod/fmod/max/min, os.date/time/clock/difftime,
// collectgarbage and gcinfo. The pattern functions (string.find, match,
// gmatch, gsub) are not touched here.
//
// Known limits of the approach: conversions done by the VM itself are still
// gopher-lua's. That covers arithmetic coercion of strings (gopher-lua reads
// "010"*1 as octal 8 where Lua 5.1 gives 10), the .. operator (1e15 .. ""
// is "1000000000000000" instead of "1e+15", and the result is not subject
// to Limits.MaxStringSize) and numbers passed to Go functions that call
// LState.ToString. Functions not replaced here keep gopher-lua's argument
// error wording ("bad argument #2 to rawequal" without quotes), and argument
// numbers in errors are not shifted for method calls ("%d"):format().
// print is left alone on purpose: the embedding runtime routes it to its
// log. ToStringValue and PrintLine format values as Lua 5.1's print does
// for embedders that want that.
package lstd

import (
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Limits bounds what the replaced built-ins may produce and carries the
// state they share across Lua states.
type Limits struct {
	// MaxStringSize is the largest string (in bytes) string.rep,
	// table.concat and string.format may produce. Zero means the default.
	MaxStringSize int
	// MaxFormatWidth caps the width and precision in string.format
	// directives. Lua 5.1 accepts at most two digits, so values above 99
	// have no effect. Zero means 99.
	MaxFormatWidth int
	// GC throttles collectgarbage across all states of the process. Share
	// one value between every state; nil gives the state its own throttle.
	GC *GCThrottle
	// Location is the zone os.date and os.time use for local time; nil
	// means time.Local.
	Location *time.Location
}

// Default values used by DefaultLimits and for zero fields.
const (
	DefaultMaxStringSize  = 64 << 20
	DefaultMaxFormatWidth = 99
)

// DefaultLimits returns the limits used when nothing else is configured.
func DefaultLimits() Limits {
	return Limits{MaxStringSize: DefaultMaxStringSize, MaxFormatWidth: DefaultMaxFormatWidth}
}

func (lim Limits) normalized() Limits {
	if lim.MaxStringSize <= 0 {
		lim.MaxStringSize = DefaultMaxStringSize
	}
	if lim.MaxFormatWidth <= 0 || lim.MaxFormatWidth > DefaultMaxFormatWidth {
		lim.MaxFormatWidth = DefaultMaxFormatWidth
	}
	if lim.GC == nil {
		lim.GC = NewGCThrottle(time.Second)
	}
	if lim.Location == nil {
		lim.Location = time.Local
	}
	return lim
}

// Install replaces the functions listed in the package comment in the
// already-opened base, string, table, math and os libraries of L. Libraries
// that were not opened are skipped.
func Install(L *lua.LState, lim Limits) {
	lim = lim.normalized()
	g := L.Get(lua.GlobalsIndex).(*lua.LTable)
	set := func(tb *lua.LTable, name string, fn lua.LGFunction) {
		tb.RawSetString(name, L.NewFunction(fn))
	}
	set(g, "tostring", baseToString)
	set(g, "tonumber", baseToNumber)
	set(g, "unpack", tableUnpack)
	set(g, "select", baseSelect)
	set(g, "error", baseError)
	gc := &gcState{throttle: lim.GC, pause: 200, stepmul: 200}
	set(g, "collectgarbage", gc.collectGarbage)
	set(g, "gcinfo", gcInfo)
	if tb, ok := g.RawGetString("string").(*lua.LTable); ok {
		f := &formatter{lim: lim}
		set(tb, "format", f.luaFormat)
		set(tb, "rep", lim.strRep)
		set(tb, "lower", strLower)
		set(tb, "upper", strUpper)
		set(tb, "sub", strSub)
		set(tb, "byte", strByte)
		set(tb, "char", strChar)
		set(tb, "len", strLen)
		set(tb, "reverse", strReverse)
	}
	if tb, ok := g.RawGetString("table").(*lua.LTable); ok {
		set(tb, "concat", lim.tableConcat)
		set(tb, "getn", tableGetn)
		set(tb, "setn", tableSetn)
		set(tb, "maxn", tableMaxn)
		set(tb, "foreach", tableForeach)
		set(tb, "foreachi", tableForeachi)
	}
	if tb, ok := g.RawGetString("math").(*lua.LTable); ok {
		installMath(L, tb)
	}
	if tb, ok := g.RawGetString("os").(*lua.LTable); ok {
		o := &osLib{loc: lim.Location}
		set(tb, "date", o.date)
		set(tb, "time", o.time)
		set(tb, "clock", osClock)
		set(tb, "difftime", osDifftime)
	}
}
