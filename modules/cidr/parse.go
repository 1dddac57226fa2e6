package cidr

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// defaultA is rbldnsd's A value for entries that give none.
const defaultA = "127.0.0.2"

// listValue is what entries of a plain list return when the line has no
// value of its own.
const listValue = "1"

// maxWarnings limits the malformed lines reported per load, so a broken
// file cannot flood the log.
const maxWarnings = 10

// parser reads the rbldnsd and list formats. Malformed lines are skipped
// and reported through warn, as rbldnsd does, so one bad line in a large
// block list does not take the whole list out of service.
type parser struct {
	format Format
	txt    bool // rbldnsd: return the TXT column instead of the A column
	warn   func(error)
	bad    int // malformed lines seen
	defA   string
	defTXT string
}

func (p *parser) parse(ctx context.Context, r io.Reader) ([]Entry, error) {
	p.defA = defaultA
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var out []Entry
	for n := 1; sc.Scan(); n++ {
		if n%65536 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var err error
		out, err = p.line(out, strings.TrimSpace(sc.Text()))
		if err != nil {
			p.bad++
			if p.warn != nil && p.bad <= maxWarnings {
				p.warn(fmt.Errorf("line %d: %w", n, err))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if p.warn != nil && p.bad > maxWarnings {
		p.warn(fmt.Errorf("%d more malformed lines skipped", p.bad-maxWarnings))
	}
	return out, nil
}

func (p *parser) line(out []Entry, s string) ([]Entry, error) {
	if s == "" || s[0] == '#' || s[0] == ';' {
		return out, nil
	}
	if p.format == FormatRbldnsd {
		switch s[0] {
		case '$':
			return out, nil // $SOA, $NS, $TTL and substitution variables: DNS-only
		case ':':
			p.defA, p.defTXT = p.values(s)
			return out, nil
		}
	}
	s, exclude := CutExclusion(s)
	spec, rest := splitAddr(s)
	prefixes, err := ParseSpec(spec)
	if err != nil {
		return out, err
	}
	val := listValue
	if p.format == FormatRbldnsd {
		a, txt := p.defA, p.defTXT
		switch {
		case strings.HasPrefix(rest, ":"):
			a, txt = p.values(rest)
		case rest != "":
			txt = rest
		}
		val = a
		if p.txt {
			val = txt
		}
	} else if rest != "" {
		val = rest
	}
	for _, pf := range prefixes {
		out = append(out, Entry{Prefix: pf, Value: val, Exclude: exclude})
	}
	return out, nil
}

// values parses ":A:TXT"; an empty part falls back to the current
// default, and a bare number n in A means 127.0.0.n.
func (p *parser) values(s string) (a, txt string) {
	a, txt, hasTXT := strings.Cut(strings.TrimPrefix(s, ":"), ":")
	a = strings.TrimSpace(a)
	if n, err := strconv.Atoi(a); err == nil && n >= 0 && n < 256 {
		a = "127.0.0." + a
	}
	if a == "" {
		a = p.defA
	}
	if !hasTXT || txt == "" {
		txt = p.defTXT
	}
	return a, txt
}

// splitAddr separates the address part of a line from its value. The
// address ends at white space; an IPv4 address may also be followed
// directly by ":A:TXT" (IPv6 entries need a space before that colon).
func splitAddr(s string) (spec, rest string) {
	spec, rest = s, ""
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		spec, rest = s[:i], strings.TrimSpace(s[i+1:])
	}
	if i := strings.IndexByte(spec, ':'); i > 0 && strings.Contains(spec[:i], ".") {
		spec, rest = spec[:i], strings.TrimSpace(spec[i:]+" "+rest)
	}
	return spec, rest
}

// CutExclusion removes rbldnsd's "!" exclusion marker, and the blanks
// after it, from the start of an entry and reports whether it was there.
// Sources other than files use it with ParseSpec so that "!10.0.0.0/8" and
// "! 10.0.0.0/8" exclude the same addresses in every table.
func CutExclusion(s string) (string, bool) {
	rest, ok := strings.CutPrefix(s, "!")
	if !ok {
		return s, false
	}
	return strings.TrimSpace(rest), true
}

// ParseSpec parses the address part of a table entry: an address, a
// prefix, rbldnsd's shortened IPv4 forms ("10/8", "192.168" for
// 192.168.0.0/16) or an IPv4 range "a-b". Sources other than files use it
// so that every table accepts the same entries.
func ParseSpec(s string) ([]netip.Prefix, error) {
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		return parseRange(lo, hi)
	}
	addr, bits, hasBits := strings.Cut(s, "/")
	a, n, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	if hasBits {
		n, err = strconv.Atoi(bits)
		if err != nil || n < 0 || n > a.BitLen() {
			return nil, fmt.Errorf("invalid prefix length in %q", s)
		}
	}
	return []netip.Prefix{netip.PrefixFrom(a, n).Masked()}, nil
}

// parseAddr parses a full address, or a shortened IPv4 one whose missing
// octets are zero; bits is the length the written octets imply.
func parseAddr(s string) (netip.Addr, int, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, 0, fmt.Errorf("invalid address %q", s)
		}
		return a, a.BitLen(), nil
	}
	parts := strings.Split(s, ".")
	if len(parts) < 4 && !strings.Contains(s, ":") {
		full := s + strings.Repeat(".0", 4-len(parts))
		if a, err := netip.ParseAddr(full); err == nil {
			return a, 8 * len(parts), nil
		}
	}
	return netip.Addr{}, 0, fmt.Errorf("invalid address %q", s)
}

// parseRange turns an IPv4 range into the prefixes covering it. The end
// may be shortened to its last octets ("10.0.0.5-20").
func parseRange(los, his string) ([]netip.Prefix, error) {
	lo, _, err := parseAddr(los)
	if err != nil || !lo.Is4() {
		return nil, fmt.Errorf("invalid range start %q (ranges are IPv4 only)", los)
	}
	if n := strings.Count(his, "."); n < 3 {
		octets := strings.Split(lo.String(), ".")
		his = strings.Join(octets[:3-n], ".") + "." + his
	}
	hi, err := netip.ParseAddr(his)
	if err != nil || !hi.Is4() || hi.Less(lo) {
		return nil, fmt.Errorf("invalid range %s-%s", los, his)
	}
	return rangePrefixes(lo, hi), nil
}

// rangePrefixes returns the shortest list of prefixes covering lo..hi.
func rangePrefixes(lo, hi netip.Addr) []netip.Prefix {
	l := uint64(addrKey(lo).lo)
	h := uint64(addrKey(hi).lo)
	var out []netip.Prefix
	for l <= h {
		size := uint64(1)
		for bits := 0; bits < 32; bits++ {
			next := size << 1
			if l%next != 0 || l+next-1 > h {
				break
			}
			size = next
		}
		b := [4]byte{byte(l >> 24), byte(l >> 16), byte(l >> 8), byte(l)}
		host := 0
		for s := size; s > 1; s >>= 1 {
			host++
		}
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(b), 32-host))
		l += size
	}
	return out
}
