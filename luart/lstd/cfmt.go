package lstd

import (
	"math"
	"strconv"
	"strings"
)

// spec is one parsed printf conversion: flags, width and precision.
type spec struct {
	minus, plus, space, hash, zero bool
	width                          int
	prec                           int // -1 when absent
}

// pad writes prefix+body padded to the spec's width the way glibc does:
// spaces on the left, spaces on the right with '-', or zeros between the
// prefix (sign, 0x) and the body when zeroOK.
func (sp *spec) pad(b *strings.Builder, prefix, body string, zeroOK bool) {
	n := sp.width - len(prefix) - len(body)
	switch {
	case n <= 0:
		b.WriteString(prefix)
		b.WriteString(body)
	case sp.minus:
		b.WriteString(prefix)
		b.WriteString(body)
		writeRepeat(b, ' ', n)
	case sp.zero && zeroOK:
		b.WriteString(prefix)
		writeRepeat(b, '0', n)
		b.WriteString(body)
	default:
		writeRepeat(b, ' ', n)
		b.WriteString(prefix)
		b.WriteString(body)
	}
}

func writeRepeat(b *strings.Builder, c byte, n int) {
	for ; n > 0; n-- {
		b.WriteByte(c)
	}
}

func (sp *spec) signPrefix(neg bool) string {
	switch {
	case neg:
		return "-"
	case sp.plus:
		return "+"
	case sp.space:
		return " "
	}
	return ""
}

// formatSigned implements %d and %i for a C long.
func (sp *spec) formatSigned(b *strings.Builder, v int64) {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	digits := sp.intDigits(strconv.FormatUint(u, 10), u)
	sp.pad(b, sp.signPrefix(neg), digits, sp.prec < 0)
}

// formatUnsigned implements %o, %u, %x and %X for a C unsigned long.
func (sp *spec) formatUnsigned(b *strings.Builder, conv byte, u uint64) {
	base := 10
	switch conv {
	case 'o':
		base = 8
	case 'x', 'X':
		base = 16
	}
	digits := strconv.FormatUint(u, base)
	if conv == 'X' {
		digits = strings.ToUpper(digits)
	}
	digits = sp.intDigits(digits, u)
	prefix := ""
	if sp.hash {
		switch {
		case conv == 'o' && (digits == "" || digits[0] != '0'):
			digits = "0" + digits
		case conv == 'x' && u != 0:
			prefix = "0x"
		case conv == 'X' && u != 0:
			prefix = "0X"
		}
	}
	sp.pad(b, prefix, digits, sp.prec < 0)
}

// intDigits applies the precision (minimum number of digits) to digits.
func (sp *spec) intDigits(digits string, u uint64) string {
	if sp.prec < 0 {
		return digits
	}
	if sp.prec == 0 && u == 0 {
		return ""
	}
	if n := sp.prec - len(digits); n > 0 {
		return strings.Repeat("0", n) + digits
	}
	return digits
}

// formatFloat implements %e, %E, %f, %F, %g and %G for a C double with
// glibc's output (including "-nan" for NaNs with the sign bit set).
func (sp *spec) formatFloat(b *strings.Builder, conv byte, f float64) {
	upper := conv == 'E' || conv == 'G' || conv == 'F'
	neg := math.Signbit(f)
	prefix := sp.signPrefix(neg)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		body := "inf"
		if math.IsNaN(f) {
			body = "nan"
		}
		if upper {
			body = strings.ToUpper(body)
		}
		sp.pad(b, prefix, body, false)
		return
	}
	body := sp.floatBody(conv|0x20, math.Abs(f))
	if upper {
		body = strings.ToUpper(body)
	}
	sp.pad(b, prefix, body, true)
}

// floatBody formats a finite non-negative value; conv is lower case.
func (sp *spec) floatBody(conv byte, f float64) string {
	prec := sp.prec
	if prec < 0 {
		prec = 6
	}
	switch conv {
	case 'f':
		s := strconv.FormatFloat(f, 'f', prec, 64)
		if prec == 0 && sp.hash {
			s += "."
		}
		return s
	case 'e':
		return sp.expForm(f, prec)
	}
	// %g: pick %e or %f from the exponent the value has after rounding to
	// prec significant digits, as C99 7.19.6.1 specifies.
	if prec == 0 {
		prec = 1
	}
	e := strconv.FormatFloat(f, 'e', prec-1, 64)
	x, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	var s string
	if prec > x && x >= -4 {
		s = strconv.FormatFloat(f, 'f', prec-1-x, 64)
		if sp.hash && !strings.Contains(s, ".") {
			s += "."
		}
		if !sp.hash {
			s = trimZeros(s)
		}
		return s
	}
	s = sp.expForm(f, prec-1)
	if !sp.hash {
		i := strings.IndexByte(s, 'e')
		s = trimZeros(s[:i]) + s[i:]
	}
	return s
}

// expForm is %e with C's exponent of at least two digits.
func (sp *spec) expForm(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'e', prec, 64)
	if prec == 0 && sp.hash {
		i := strings.IndexByte(s, 'e')
		s = s[:i] + "." + s[i:]
	}
	return s
}

// trimZeros drops trailing fractional zeros and a bare decimal point.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
