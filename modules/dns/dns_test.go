package dns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/luatest"
)

// eval runs "return <expr>" and renders all results with dump.
func eval(L *lua.LState, expr string) (string, error) {
	return luatest.EvalWith(L, expr, dump)
}

// dump renders strings bare, numbers as integers and arrays as {a,b}.
func dump(v lua.LValue) string {
	t, ok := v.(*lua.LTable)
	if !ok {
		return v.String()
	}
	var parts []string
	for i := 1; i <= t.Len(); i++ {
		parts = append(parts, dump(t.RawGetInt(i)))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func newResolver(t testing.TB, opts Options) *Resolver {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLookup(t *testing.T) {
	addr, _ := startDnsmasq(t)
	L := luatest.NewState(t, newResolver(t, Options{Servers: []string{addr}}))
	// A resolver whose only server is silent, overridden per call.
	Lsilent := luatest.NewState(t, newResolver(t, Options{Servers: []string{silentServer(t)}, Timeout: 300 * time.Millisecond}))

	tests := []struct {
		L    *lua.LState
		expr string
		want string
	}{
		{L, `msys.dnsLookup("host.example.test")`, "{192.0.2.10}"},
		{L, `msys.dnsLookup("HOST.example.test.", "a")`, "{192.0.2.10}"},
		{L, `msys.dnsLookup("host.example.test", "AAAA")`, "{2001:db8::10}"},
		{L, `msys.dnsLookup("example.test", "MX")`, "{mx1.example.test,mx2.example.test}"},
		{L, `msys.dnsLookup("example.test", "mx", {priority=true})`, "{{10,mx1.example.test},{20,mx2.example.test}}"},
		{L, `msys.dnsLookup("example.test", "TXT")`, "{v=spf1 -all}"},
		{L, `msys.dnsLookup("multi.example.test", "txt")`, "{part one part two}"},
		{L, `msys.dnsLookup("192.0.2.10", "PTR")`, "{host.example.test}"},
		{L, `msys.dnsLookup("10.2.0.192.in-addr.arpa", "PTR")`, "{host.example.test}"},
		{L, `msys.dnsLookup("2001:db8::10", "PTR")`, "{host.example.test}"},
		{L, `msys.dnsLookup("example.test", "NS")`, "{ns1.example.test}"},
		{L, `msys.dnsLookup("2.0.0.127.rbl.test")`, "{127.0.0.2}"},
		{L, `msys.dnsLookup("2.0.0.127.rbl.test", "TXT")`, "{Listed: see http://rbl.test/}"},
		{L, `msys.dnsLookup("3.0.0.127.rbl.test")`, "nil NXDOMAIN"},
		{L, `msys.dnsLookup("nothere.example.test", "MX")`, "nil NXDOMAIN"},
		{L, `msys.dnsLookup("host.example.test", "TXT")`, "nil NODATA"},
		{L, `msys.dnsLookup("bad..name")`, "nil BADNAME"},
		{L, `msys.dnsLookup("", "A")`, "nil BADNAME"},
		{Lsilent, fmt.Sprintf(`msys.dnsLookup("host.example.test", "A", {server=%q})`, addr), "{192.0.2.10}"},
		{Lsilent, `msys.dnsLookup("host.example.test")`, "nil timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := eval(tc.L, tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLookupBadArguments(t *testing.T) {
	L := luatest.NewState(t, newResolver(t, Options{Servers: []string{silentServer(t)}}))
	tests := []struct{ expr, want string }{
		{`msys.dnsLookup("example.test", "FOO")`, "msys.dnsLookup: unsupported type 'FOO'"},
		{`msys.dnsLookup("example.test", "SOA")`, "unsupported type 'SOA'"},
		{`msys.dnsLookup({})`, "bad argument #1 name (string expected, got table)"},
		{`msys.dnsLookup()`, "bad argument #1 name (string expected, got nil)"},
		{`msys.dnsLookup(42)`, "bad argument #1 name (string expected, got number)"},
		{`msys.dnsLookup("example.test", 1)`, "bad argument #2 type (string expected, got number)"},
		{`msys.dnsLookup("example.test", "A", "x")`, "bad argument #3 (table expected, got string)"},
		{`msys.dnsLookup("example.test", "A", {server="dns.example"})`, `invalid name server "dns.example"`},
		{`msys.dnsLookup("example.test", "A", {server=53})`, "options.server must be a string, got number"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := eval(L, tc.expr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestCache stops the server after the first lookups: the answers,
// negative ones included, must still come back.
func TestCache(t *testing.T) {
	addr, stop := startDnsmasq(t)
	L := luatest.NewState(t, newResolver(t, Options{Servers: []string{addr}, Timeout: 300 * time.Millisecond}))
	exprs := []string{
		`msys.dnsLookup("2.0.0.127.rbl.test")`,
		`msys.dnsLookup("2.0.0.127.rbl.test", "TXT")`,
		`msys.dnsLookup("example.test", "MX", {priority=true})`,
		`msys.dnsLookup("3.0.0.127.rbl.test")`,
	}
	first := map[string]string{}
	for _, e := range exprs {
		got, err := eval(L, e)
		if err != nil {
			t.Fatal(err)
		}
		first[e] = got
	}
	stop()
	for _, e := range exprs {
		got, err := eval(L, e)
		if err != nil {
			t.Fatal(err)
		}
		if got != first[e] {
			t.Errorf("%s after server stop: got %s, want cached %s", e, got, first[e])
		}
	}
	// A name never asked for needs the (stopped) server.
	got, _ := eval(L, `msys.dnsLookup("host.example.test")`)
	if !strings.HasPrefix(got, "nil ") {
		t.Errorf("uncached lookup with server stopped: got %s", got)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache(3)
	now := time.Now()
	for i := range 5 {
		c.put(fmt.Sprint(i), &entry{ttl: time.Minute}, now)
	}
	if c.len() != 3 {
		t.Fatalf("len = %d, want 3", c.len())
	}
	var keys []string
	for i := range 5 {
		if _, ok := c.get(fmt.Sprint(i), now); ok {
			keys = append(keys, fmt.Sprint(i))
		}
	}
	if strings.Join(keys, ",") != "2,3,4" {
		t.Errorf("kept %v, want the three newest", keys)
	}
	if _, ok := c.get("4", now.Add(2*time.Minute)); ok {
		t.Error("expired entry returned")
	}
}

func TestCanceled(t *testing.T) {
	r := newResolver(t, Options{Servers: []string{silentServer(t)}, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := r.Lookup(ctx, "host.example.test", mdns.TypeA, "")
	var le *LookupError
	if !errors.As(err, &le) || le.Status != StatusCanceled {
		t.Errorf("got %v, want status %s", err, StatusCanceled)
	}
}

func TestUnescapeTXT(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:         "plain",
		`a\"b\\c`:       `a"b\c`,
		`tab\009end`:    "tab\tend",
		`high\255`:      "high\xff",
		`trailing\`:     `trailing\`,
		`not\99numeric`: "not99numeric",
	} {
		if got := unescapeTXT(in); got != want {
			t.Errorf("unescapeTXT(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkCachedLookup(b *testing.B) {
	addr, _ := startDnsmasq(b)
	r := newResolver(b, Options{Servers: []string{addr}})
	L := luatest.NewState(b, r)
	// GetField, not a raw read: msys is a read-only view of the real table.
	fn := L.GetField(L.GetGlobal("msys"), "dnsLookup")
	name := lua.LString("2.0.0.127.rbl.test")
	if got, err := eval(L, `msys.dnsLookup("2.0.0.127.rbl.test")`); err != nil || got != "{127.0.0.2}" {
		b.Fatalf("warm-up: %s %v", got, err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, name); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
	}
}
