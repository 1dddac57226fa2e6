package lstd

import (
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// dateField is Lua 5.1's getfield in loslib.c: numeric fields (numbers or
// numeric strings) are truncated to a C int; missing ones take def, or
// raise an error when def is negative.
func dateField(L *lua.LState, tb *lua.LTable, key string, def int32) int32 {
	if f, ok := toNumberValue(L.GetField(tb, key)); ok {
		return int32(cLong(f))
	}
	if def < 0 {
		raise(L, "field '%s' missing in date table", key)
	}
	return def
}

// time is Lua 5.1's os.time: the current time, or mktime of a date table
// with its normalisation (month 13 is January of the next year) and
// isdst handling. A result of -1 is returned as nil, as C Lua does.
func (o *osLib) time(L *lua.LState) int {
	if isNoneOrNil(L, 1) {
		L.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	tb := checkTable(L, 1, "time")
	sec := dateField(L, tb, "sec", 0)
	min := dateField(L, tb, "min", 0)
	hour := dateField(L, tb, "hour", 12)
	day := dateField(L, tb, "day", -1)
	mon := dateField(L, tb, "month", -1) - 1
	year := dateField(L, tb, "year", -1) - 1900
	isdst := -1
	if v := L.GetField(tb, "isdst"); v != lua.LNil {
		isdst = 0
		if lua.LVAsBool(v) {
			isdst = 1
		}
	}
	t, ok := o.mktime(int(year)+1900, int(mon)+1, int(day), int(hour), int(min), int(sec), isdst)
	if !ok || t == -1 {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(t))
	return 1
}

// mktime converts local broken-down time like glibc's mktime. Wall-clock
// times that occur twice (DST ends) or never (DST starts) resolve to
// standard time, where glibc's choice depends on its previous calls. When
// isdst is given and disagrees with the zone's rule at that time, glibc
// shifts the result by the one-hour DST offset, even in zones without DST.
func (o *osLib) mktime(year, month, day, hour, min, sec, isdst int) (int64, bool) {
	wall := time.Date(year, time.Month(month), day, hour, min, sec, 0, time.UTC)
	if y := int64(wall.Year()) - 1900; y > 1<<31-1 || y < -1<<31 {
		return 0, false
	}
	w := wall.Unix()
	u, dst, found := int64(0), false, false
	for _, probe := range []int64{w - 86400, w, w + 86400} {
		_, off := time.Unix(probe, 0).In(o.loc).Zone()
		cand := w - int64(off)
		t := time.Unix(cand, 0).In(o.loc)
		if _, off2 := t.Zone(); off2 != off {
			continue
		}
		if !found || dst && !t.IsDST() {
			u, dst, found = cand, t.IsDST(), true
		}
	}
	if !found {
		// In a gap: read the time with the offset in force before it.
		_, off := time.Unix(w-86400, 0).In(o.loc).Zone()
		u = w - int64(off)
		dst = time.Unix(u, 0).In(o.loc).IsDST()
	}
	if isdst >= 0 && dst != (isdst > 0) {
		if isdst > 0 {
			u -= 3600
		} else {
			u += 3600
		}
	}
	return u, true
}

// osClock returns the CPU time (user plus system) the process has used,
// which is what C's clock() measures.
func osClock(L *lua.LState) int {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		raise(L, "os.clock: getrusage: %v", err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	L.Push(lua.LNumber(cpu.Seconds()))
	return 1
}

func osDifftime(L *lua.LState) int {
	t1 := cLong(checkNumber(L, 1, "difftime"))
	t0 := cLong(optNumber(L, 2, "difftime", 0))
	L.Push(lua.LNumber(float64(t1) - float64(t0)))
	return 1
}
