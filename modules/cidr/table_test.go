package cidr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func entries(t *testing.T, specs ...string) []Entry {
	t.Helper()
	var out []Entry
	for _, s := range specs {
		p, v, _ := strings.Cut(s, "=")
		e := Entry{Value: v}
		if strings.HasPrefix(p, "!") {
			e.Exclude, p = true, p[1:]
		}
		e.Prefix = netip.MustParsePrefix(p)
		out = append(out, e)
	}
	return out
}

func TestTableLookup(t *testing.T) {
	tab := buildTable(entries(t,
		"10.0.0.0/8=wide",
		"10.1.0.0/16=mid",
		"10.1.2.0/24=narrow",
		"!10.1.2.128/25",
		"10.1.2.200/32=host",
		"10.255.255.255/32=last",
		"192.168.0.0/24=first",
		"192.168.0.0/24=second", // same prefix: later wins
		"172.16.0.0/12=x",
		"!172.16.0.0/12", // same prefix: exclusion wins
		"::ffff:198.51.100.0/120=mapped",
		"2001:db8::/32=v6",
		"2001:db8:1::/48=v6-48",
		"!2001:db8:1::1/128",
		"::/0=v6-default",
	))
	tests := []struct{ addr, want string }{
		{"9.255.255.255", ""},
		{"10.0.0.0", "wide"},
		{"10.0.255.255", "wide"},
		{"10.1.0.1", "mid"},
		{"10.1.2.0", "narrow"},
		{"10.1.2.127", "narrow"},
		{"10.1.2.128", ""},
		{"10.1.2.199", ""},
		{"10.1.2.200", "host"},
		{"10.1.2.201", ""},
		{"10.1.3.0", "mid"},
		{"10.2.0.0", "wide"},
		{"10.255.255.254", "wide"},
		{"10.255.255.255", "last"},
		{"11.0.0.0", ""},
		{"192.168.0.7", "second"},
		{"172.16.5.5", ""},
		{"198.51.100.9", "mapped"},
		{"::ffff:10.1.2.200", "host"}, // mapped query
		{"2001:db8::1", "v6"},
		{"2001:db8:1::2", "v6-48"},
		{"2001:db8:1::1", ""},
		{"2001:db9::", "v6-default"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "v6-default"},
		{"::", "v6-default"},
	}
	for _, tc := range tests {
		got, _ := tab.lookup(netip.MustParseAddr(tc.addr))
		if got != tc.want {
			t.Errorf("lookup(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestTableMatchesLinearScan compares the flattened table with a naive
// longest-prefix scan over random nested and overlapping prefixes.
func TestTableMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		var es []Entry
		for i := range 200 {
			var a netip.Addr
			if round%2 == 0 {
				a = netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			} else {
				a = netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(rng.IntN(256)), 14: byte(rng.IntN(4))})
			}
			bits := a.BitLen() - rng.IntN(20)
			es = append(es, Entry{Prefix: netip.PrefixFrom(a, bits).Masked(), Value: fmt.Sprint(i), Exclude: rng.IntN(8) == 0})
		}
		tab := buildTable(es)
		for range 2000 {
			var a netip.Addr
			if round%2 == 0 {
				a = netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			} else {
				a = netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(rng.IntN(256)), 14: byte(rng.IntN(4))})
			}
			got, ok := tab.lookup(a)
			want, wantOK := linear(es, a)
			if got != want || ok != wantOK {
				t.Fatalf("round %d: lookup(%s) = %q,%v; linear scan says %q,%v", round, a, got, ok, want, wantOK)
			}
		}
	}
}

func linear(es []Entry, a netip.Addr) (string, bool) {
	best := -1
	for i, e := range es {
		if !e.Prefix.Contains(a) {
			continue
		}
		if best < 0 || e.Prefix.Bits() > es[best].Prefix.Bits() {
			best = i
			continue
		}
		if e.Prefix.Bits() == es[best].Prefix.Bits() && (e.Exclude || !es[best].Exclude) {
			best = i
		}
	}
	if best < 0 || es[best].Exclude {
		return "", false
	}
	return es[best].Value, true
}

func TestParse(t *testing.T) {
	const file = `# comment
; another comment
$SOA 3600 ns.rbl.test. admin.rbl.test. 0 600 300 86400 300
$TTL 3600
:127.0.0.2:Listed, see http://rbl.test/$
192.0.2.0/24
192.0.2.5 :3:Host listed
198.51.100.7:127.0.0.4:Direct colon
203.0.113.0/24 custom text only
!192.0.2.9
10/8 :5:
172.16.0.0-3.255
2001:db8::/32 :127.0.0.6:IPv6 net
2001:db8::1 :7
not-an-address
300.1.2.3/8
:127.0.0.9:new default
192.168
`
	tests := []struct {
		value, addr, want string
	}{
		{"a", "192.0.2.1", "127.0.0.2"},
		{"txt", "192.0.2.1", "Listed, see http://rbl.test/$"},
		{"a", "192.0.2.5", "127.0.0.3"},
		{"txt", "192.0.2.5", "Host listed"},
		{"a", "198.51.100.7", "127.0.0.4"},
		{"txt", "198.51.100.7", "Direct colon"},
		{"a", "203.0.113.1", "127.0.0.2"},
		{"txt", "203.0.113.1", "custom text only"},
		{"a", "192.0.2.9", ""},
		{"a", "10.9.9.9", "127.0.0.5"},
		{"txt", "10.9.9.9", "Listed, see http://rbl.test/$"},
		{"a", "172.16.2.1", "127.0.0.2"},
		{"a", "172.16.4.0", ""},
		{"a", "2001:db8:ffff::1", "127.0.0.6"},
		{"txt", "2001:db8:ffff::1", "IPv6 net"},
		{"a", "2001:db8::1", "127.0.0.7"},
		{"a", "192.168.7.7", "127.0.0.9"},
		{"txt", "192.168.7.7", "new default"},
	}
	for _, value := range []string{"a", "txt"} {
		var warnings []string
		p := parser{format: FormatRbldnsd, txt: value == "txt", warn: func(err error) { warnings = append(warnings, err.Error()) }}
		es, err := p.parse(context.Background(), strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 2 || !strings.Contains(warnings[0], "line 15") || !strings.Contains(warnings[1], "line 16") {
			t.Errorf("warnings = %q, want lines 15 and 16", warnings)
		}
		tab := buildTable(es)
		for _, tc := range tests {
			if tc.value != value {
				continue
			}
			if got, _ := tab.lookup(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("value=%s lookup(%s) = %q, want %q", value, tc.addr, got, tc.want)
			}
		}
	}
}

func TestRangePrefixes(t *testing.T) {
	tests := []struct{ lo, hi, want string }{
		{"10.0.0.0", "10.0.0.255", "10.0.0.0/24"},
		{"10.0.0.1", "10.0.0.6", "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32"},
		{"0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
		{"255.255.255.255", "255.255.255.255", "255.255.255.255/32"},
	}
	for _, tc := range tests {
		var got []string
		for _, p := range rangePrefixes(netip.MustParseAddr(tc.lo), netip.MustParseAddr(tc.hi)) {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s-%s = %v, want %s", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestParseWarningsCapped(t *testing.T) {
	var warnings []string
	p := parser{format: FormatList, warn: func(err error) { warnings = append(warnings, err.Error()) }}
	es, err := p.parse(context.Background(), strings.NewReader(strings.Repeat("bogus\n", 25)+"10.0.0.0/8\n"))
	if err != nil || len(es) != 1 {
		t.Fatalf("entries %v, err %v", es, err)
	}
	if len(warnings) != maxWarnings+1 || warnings[maxWarnings] != "15 more malformed lines skipped" {
		t.Errorf("warnings = %q", warnings)
	}
}
