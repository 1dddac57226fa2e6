package cidr

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"
)

// u128 is an address as a 128-bit big-endian number; IPv4 addresses use
// only the low 32 bits (IPv4 and IPv6 live in separate range lists).
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// inc returns a+1 and whether it wrapped around.
func (a u128) inc() (u128, bool) {
	a.lo++
	if a.lo == 0 {
		a.hi++
		return a, a.hi == 0
	}
	return a, false
}

func (a u128) dec() u128 {
	if a.lo == 0 {
		a.hi--
	}
	a.lo--
	return a
}

func addrKey(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var k u128
	for i := range 8 {
		k.hi = k.hi<<8 | uint64(b[i])
		k.lo = k.lo<<8 | uint64(b[8+i])
	}
	return k
}

// prefixRange returns the first and last address of p as keys.
func prefixRange(p netip.Prefix) (u128, u128) {
	lo := addrKey(p.Masked().Addr())
	host := p.Addr().BitLen() - p.Bits()
	hi := lo
	switch {
	case host >= 128:
		hi = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		hi.lo = ^uint64(0)
		hi.hi |= 1<<(host-64) - 1
	default:
		hi.lo |= 1<<host - 1
	}
	return lo, hi
}

// ranges is a sorted list of disjoint address ranges, each mapped to an
// index into table.values; lookups are a binary search.
type ranges struct {
	lo, hi []u128
	val    []int32
}

func (r *ranges) find(k u128) (int32, bool) {
	i := sort.Search(len(r.lo), func(i int) bool { return r.lo[i].cmp(k) > 0 }) - 1
	if i < 0 || r.hi[i].cmp(k) < 0 {
		return 0, false
	}
	return r.val[i], true
}

func (r *ranges) add(lo, hi u128, val int32) {
	if val < 0 {
		return // excluded
	}
	if n := len(r.lo); n > 0 && r.val[n-1] == val {
		if next, wrap := r.hi[n-1].inc(); !wrap && next == lo {
			r.hi[n-1] = hi
			return
		}
	}
	r.lo, r.hi, r.val = append(r.lo, lo), append(r.hi, hi), append(r.val, val)
}

// table is an immutable, query-ready CIDR table.
type table struct {
	v4, v6  ranges
	values  []string
	entries int // prefixes loaded, before flattening
}

// lookup returns the value of the longest prefix containing a, unless
// that prefix is an exclusion.
func (t *table) lookup(a netip.Addr) (string, bool) {
	a = a.Unmap()
	r := &t.v6
	if a.Is4() {
		r = &t.v4
	}
	i, ok := r.find(addrKey(a))
	if !ok {
		return "", false
	}
	return t.values[i], true
}

type item struct {
	lo, hi u128
	bits   int
	seq    int
	val    int32 // -1 for an exclusion
}

// buildTable flattens possibly nested prefixes into disjoint ranges where
// the longest prefix wins. For the same prefix listed twice an exclusion
// wins over a value, and otherwise the later entry wins.
func buildTable(entries []Entry) *table {
	t := &table{entries: len(entries)}
	index := map[string]int32{}
	var v4, v6 []item
	for seq, e := range entries {
		p := normalize(e.Prefix)
		if !p.IsValid() {
			continue
		}
		val := int32(-1)
		if !e.Exclude {
			i, ok := index[e.Value]
			if !ok {
				i = int32(len(t.values))
				index[e.Value] = i
				t.values = append(t.values, e.Value)
			}
			val = i
		}
		lo, hi := prefixRange(p)
		it := item{lo: lo, hi: hi, bits: p.Bits(), seq: seq, val: val}
		if p.Addr().Is4() {
			v4 = append(v4, it)
		} else {
			v6 = append(v6, it)
		}
	}
	t.v4 = flatten(v4)
	t.v6 = flatten(v6)
	return t
}

// normalize maps IPv4-mapped IPv6 prefixes to IPv4 and masks host bits.
func normalize(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

func flatten(items []item) ranges {
	slices.SortFunc(items, func(a, b item) int {
		if c := a.lo.cmp(b.lo); c != 0 {
			return c
		}
		if c := cmp.Compare(a.bits, b.bits); c != 0 {
			return c
		}
		if (a.val < 0) != (b.val < 0) {
			if a.val < 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.seq, b.seq)
	})
	// Keep the last of each run of identical prefixes.
	kept := items[:0]
	for i, it := range items {
		if i+1 < len(items) && items[i+1].lo == it.lo && items[i+1].bits == it.bits {
			continue
		}
		kept = append(kept, it)
	}
	items = kept
	var out ranges
	var stack []item
	var cursor u128
	exhausted := false
	pop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !exhausted && cursor.cmp(top.hi) <= 0 {
			out.add(cursor, top.hi, top.val)
		}
		if !exhausted {
			cursor, exhausted = top.hi.inc()
		}
	}
	for _, it := range items {
		for len(stack) > 0 && stack[len(stack)-1].hi.cmp(it.lo) < 0 {
			pop()
		}
		if n := len(stack); n > 0 && !exhausted && cursor.cmp(it.lo) < 0 {
			out.add(cursor, it.lo.dec(), stack[n-1].val)
		}
		cursor, exhausted = it.lo, false
		stack = append(stack, it)
	}
	for len(stack) > 0 {
		pop()
	}
	return out
}
