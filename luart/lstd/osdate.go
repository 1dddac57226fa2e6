package lstd

import (
	"math"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// osLib holds the zone os.date and os.time treat as local time.
type osLib struct {
	loc *time.Location
}

var (
	weekdayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames   = [...]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// maxTimeMagnitude bounds the seconds os.date accepts; C's gmtime fails
// once the year no longer fits an int, which happens well below this.
const maxTimeMagnitude = 1e17

// brokenTime is C's struct tm for one instant.
type brokenTime struct {
	t   time.Time
	utc bool
}

// date is Lua 5.1's os.date: "*t" tables, "!" for UTC and every strftime
// conversion of glibc in the C locale; unknown conversions are copied.
func (o *osLib) date(L *lua.LState) int {
	f := cString(optString(L, 1, "date", "%c"))
	var sec int64
	if isNoneOrNil(L, 2) {
		sec = time.Now().Unix()
	} else {
		sec = cLong(checkNumber(L, 2, "date"))
	}
	utc := strings.HasPrefix(f, "!")
	if utc {
		f = f[1:]
	}
	if sec > maxTimeMagnitude || sec < -maxTimeMagnitude {
		L.Push(lua.LNil)
		return 1
	}
	loc := o.loc
	if utc {
		loc = time.UTC
	}
	bt := brokenTime{t: time.Unix(sec, 0).In(loc), utc: utc}
	if y := int64(bt.t.Year()) - 1900; y > math.MaxInt32 || y < math.MinInt32 {
		L.Push(lua.LNil)
		return 1
	}
	if f == "*t" {
		L.Push(bt.table(L))
		return 1
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		o.conv(&b, bt, f[i])
	}
	L.Push(lua.LString(b.String()))
	return 1
}

func (bt brokenTime) table(L *lua.LState) *lua.LTable {
	t := bt.t
	tb := L.CreateTable(0, 9)
	set := func(k string, v int) { tb.RawSetString(k, lua.LNumber(v)) }
	set("sec", t.Second())
	set("min", t.Minute())
	set("hour", t.Hour())
	set("day", t.Day())
	set("month", int(t.Month()))
	set("year", t.Year())
	set("wday", int(t.Weekday())+1)
	set("yday", t.YearDay())
	tb.RawSetString("isdst", lua.LBool(!bt.utc && t.IsDST()))
	return tb
}

func pad2(n int) string {
	if n >= 0 && n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func space2(n int) string {
	if n >= 0 && n < 10 {
		return " " + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func hour12(h int) int {
	if h%12 == 0 {
		return 12
	}
	return h % 12
}

func ampm(hour int, am, pm string) string {
	if hour >= 12 {
		return pm
	}
	return am
}

// conv appends one strftime conversion as glibc produces it in the C locale.
func (o *osLib) conv(b *strings.Builder, bt brokenTime, c byte) {
	t := bt.t
	yday := t.YearDay() - 1
	wday := int(t.Weekday())
	switch c {
	case 'a':
		b.WriteString(weekdayNames[wday][:3])
	case 'A':
		b.WriteString(weekdayNames[wday])
	case 'b', 'h':
		b.WriteString(monthNames[t.Month()-1][:3])
	case 'B':
		b.WriteString(monthNames[t.Month()-1])
	case 'c':
		o.seq(b, bt, "a b e H:M:S Y")
	case 'C':
		b.WriteString(strconv.Itoa(floorDiv(t.Year(), 100)))
	case 'd':
		b.WriteString(pad2(t.Day()))
	case 'D', 'x':
		o.seq(b, bt, "m/d/y")
	case 'e':
		b.WriteString(space2(t.Day()))
	case 'F':
		o.seq(b, bt, "Y-m-d")
	case 'g':
		y, _ := t.ISOWeek()
		b.WriteString(pad2(y - floorDiv(y, 100)*100))
	case 'G':
		y, _ := t.ISOWeek()
		b.WriteString(strconv.Itoa(y))
	case 'H':
		b.WriteString(pad2(t.Hour()))
	case 'I':
		b.WriteString(pad2(hour12(t.Hour())))
	case 'j':
		b.WriteString(strconv.Itoa(1000 + yday + 1)[1:])
	case 'k':
		b.WriteString(space2(t.Hour()))
	case 'l':
		b.WriteString(space2(hour12(t.Hour())))
	case 'm':
		b.WriteString(pad2(int(t.Month())))
	case 'M':
		b.WriteString(pad2(t.Minute()))
	case 'n':
		b.WriteByte('\n')
	case 'p':
		b.WriteString(ampm(t.Hour(), "AM", "PM"))
	case 'P':
		b.WriteString(ampm(t.Hour(), "am", "pm"))
	case 'r':
		o.seq(b, bt, "I:M:S p")
	case 'R':
		o.seq(b, bt, "H:M")
	case 's':
		b.WriteString(strconv.FormatInt(o.epochOf(bt), 10))
	case 'S':
		b.WriteString(pad2(t.Second()))
	case 't':
		b.WriteByte('\t')
	case 'T', 'X':
		o.seq(b, bt, "H:M:S")
	case 'u':
		b.WriteString(strconv.Itoa((wday+6)%7 + 1))
	case 'U':
		b.WriteString(pad2((yday + 7 - wday) / 7))
	case 'V':
		_, w := t.ISOWeek()
		b.WriteString(pad2(w))
	case 'w':
		b.WriteString(strconv.Itoa(wday))
	case 'W':
		b.WriteString(pad2((yday + 7 - (wday+6)%7) / 7))
	case 'y':
		b.WriteString(pad2(t.Year() - floorDiv(t.Year(), 100)*100))
	case 'Y':
		b.WriteString(strconv.Itoa(t.Year()))
	case 'z':
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		b.WriteByte(sign)
		b.WriteString(pad2(off / 3600))
		b.WriteString(pad2(off / 60 % 60))
	case 'Z':
		if bt.utc {
			b.WriteString("GMT") // glibc's gmtime names its zone GMT
		} else {
			name, _ := t.Zone()
			b.WriteString(name)
		}
	case '%':
		b.WriteByte('%')
	default:
		// glibc copies an unknown conversion, reading a digit as a field
		// width for the copy ("%5" gives "   %5").
		if c >= '3' && c <= '9' {
			writeRepeat(b, ' ', int(c-'0')-2)
		}
		b.WriteByte('%')
		b.WriteByte(c)
	}
}

// seq expands a composite conversion such as %c; letters are conversions,
// anything else is copied.
func (o *osLib) seq(b *strings.Builder, bt brokenTime, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'z' {
			o.conv(b, bt, c)
		} else {
			b.WriteByte(c)
		}
	}
}

// epochOf is glibc's %s: mktime of the broken-down time, which reads a
// "!" (UTC) time as local time with isdst 0.
func (o *osLib) epochOf(bt brokenTime) int64 {
	if !bt.utc {
		return bt.t.Unix()
	}
	t := bt.t
	sec, _ := o.mktime(t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), 0)
	return sec
}
