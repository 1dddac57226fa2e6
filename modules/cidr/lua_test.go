package cidr

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/luatest"
	"github.com/luamilter/luamilter/internal/poll"
	"github.com/luamilter/luamilter/luart"
)

func newLibrary(t testing.TB, opts Options) *Library {
	t.Helper()
	lib := New(opts)
	t.Cleanup(func() { lib.Close() })
	return lib
}

func writeFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLuaQuery(t *testing.T) {
	dir := t.TempDir()
	rbl := writeFile(t, dir, "rbl.zone", `:127.0.0.2:Listed $
192.0.2.0/24
192.0.2.64/26 :127.0.0.3:Dynamic range
!192.0.2.70
2001:db8::/32 :127.0.0.4:IPv6 block
2001:db8:0:1::/64 :127.0.0.5:IPv6 subnet
`)
	list := writeFile(t, dir, "allow.list", "# trusted relays\n198.51.100.0/24\n2001:db8:aaaa::/48 partner\n")
	L := luatest.NewState(t, newLibrary(t, Options{}))
	setup := fmt.Sprintf(`
		msys.cidr.define("rbl", {type="rbldnsd", source=%q, default_value="127.0.0.0"})
		msys.cidr.define("rbltxt", {type="rbldnsd", source=%q, value="txt", interpolate=true})
		msys.cidr.define("allow", {type="list", source=%q, refresh=0})
		msys.cidr.define("none", "empty")
		msys.cidr.define("numdefault", {type="empty", default_value=0})`, rbl, rbl, list)
	if err := L.DoString(setup); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ expr, want string }{
		{`msys.cidr.query("rbl", "192.0.2.1")`, "127.0.0.2"},
		{`msys.cidr.query("rbl", "192.0.2.65")`, "127.0.0.3"},
		{`msys.cidr.query("rbl", "192.0.2.70")`, "127.0.0.0"},
		{`msys.cidr.query("rbl", "192.0.2.1:25")`, "127.0.0.2"},
		{`msys.cidr.query("rbl", "::ffff:192.0.2.1")`, "127.0.0.2"},
		{`msys.cidr.query("rbl", "203.0.113.1")`, "127.0.0.0"},
		{`msys.cidr.query("rbl", "2001:db8::1")`, "127.0.0.4"},
		{`msys.cidr.query("rbl", "[2001:db8:0:1::9]:25")`, "127.0.0.5"},
		{`msys.cidr.query("rbl", "2001:db9::1")`, "127.0.0.0"},
		{`msys.cidr.query("rbltxt", "192.0.2.1")`, "Listed 192.0.2.1"},
		{`msys.cidr.query("rbltxt", "192.0.2.66")`, "Dynamic range"},
		{`msys.cidr.query("rbltxt", "2001:db8:0:1::9")`, "IPv6 subnet"},
		{`msys.cidr.query("rbltxt", "10.0.0.1")`, "nil"},
		{`msys.cidr.query("allow", "198.51.100.200")`, "1"},
		{`msys.cidr.query("allow", "2001:db8:aaaa:1::1")`, "partner"},
		{`msys.cidr.query("allow", "198.51.101.1")`, "nil"},
		{`msys.cidr.query("none", "198.51.101.1")`, "nil"},
		{`type(msys.cidr.query("numdefault", "1.2.3.4"))`, "number"},
		{`msys.cidr.query("rbl")`, "127.0.0.0"}, // no peer known
		{`msys.cidr.reload("rbl")`, "true"},
		{fmt.Sprintf(`msys.cidr.define("rbl", {type="rbldnsd", source=%q, default_value="127.0.0.0"})`, rbl), "true"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := luatest.Eval(L, tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLuaQueryPeer(t *testing.T) {
	L := luatest.NewState(t, newLibrary(t, Options{}))
	path := writeFile(t, t.TempDir(), "l", "192.0.2.0/24 peer\n2001:db8::/32 peer6\n")
	if err := L.DoString(fmt.Sprintf(`msys.cidr.define("l", {type="list", source=%q})`, path)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ peer, want string }{
		{"192.0.2.9", "peer"}, {"2001:db8::9", "peer6"}, {"198.51.100.1", "nil"},
	} {
		L.SetContext(luart.WithCallInfo(context.Background(), &luart.CallInfo{PeerIP: net.ParseIP(tc.peer)}))
		if got, err := luatest.Eval(L, `msys.cidr.query("l")`); err != nil || got != tc.want {
			t.Errorf("peer %s: got %s %v, want %s", tc.peer, got, err, tc.want)
		}
	}
}

func TestLuaErrors(t *testing.T) {
	path := writeFile(t, t.TempDir(), "l", "10.0.0.0/8\n")
	L := luatest.NewState(t, newLibrary(t, Options{}))
	if err := L.DoString(fmt.Sprintf(`msys.cidr.define("l", {type="list", source=%q})`, path)); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ expr, want string }{
		{`msys.cidr.query("l", "10.0.0.300")`, "msys.cidr.query: invalid address '10.0.0.300'"},
		{`msys.cidr.query("l", "10.0.0.0/8")`, "invalid address '10.0.0.0/8'"},
		{`msys.cidr.query("l", 167772161)`, "bad argument #2 address (string expected, got number)"},
		{`msys.cidr.query("nosuch", "10.0.0.1")`, "no cidr table named 'nosuch'"},
		{`msys.cidr.query({})`, "bad argument #1 name (string expected, got table)"},
		{`msys.cidr.reload("nosuch")`, "no cidr table named 'nosuch'"},
		{`msys.cidr.define("d", {type="datasource", cachename="db", query="select cidr from t"})`,
			"datasource-backed cidr tables need a datasource (not configured)"},
		{`msys.cidr.define("x", {type="cdb"})`, "unknown type 'cdb'"},
		{`msys.cidr.define("x", {})`, "options.type is required"},
		{`msys.cidr.define("x", 5)`, "bad argument #2 options (table expected, got number)"},
		{`msys.cidr.define("x", {type="rbldnsd"})`, "type 'rbldnsd' needs a source"},
		{`msys.cidr.define("x", {type="rbldnsd", source="/nonexistent/zone"})`, "load /nonexistent/zone"},
		{fmt.Sprintf(`msys.cidr.define("x", {type="rbldnsd", source=%q, value="mx"})`, path), "value must be 'a' or 'txt'"},
		{`msys.cidr.define("x", {type="empty", default_value={}})`, "default_value must be a string, number or boolean"},
		{`msys.cidr.define("x", {type="empty", refresh="soon"})`, "refresh must be a number of seconds"},
		{`msys.cidr.define("x", {type="empty", source={}})`, "options.source must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := luatest.Eval(L, tc.expr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// fakeDB is a Source that is not a file, standing in for a database.
type fakeDB struct{ rows []Entry }

func (f fakeDB) Load(context.Context) ([]Entry, error) { return f.rows, nil }

func TestDatasourceHook(t *testing.T) {
	lib := newLibrary(t, Options{Datasource: func(name string, def Definition) (Source, error) {
		return fakeDB{rows: entries(t, "192.0.2.0/24="+def.Query)}, nil
	}})
	L := luatest.NewState(t, lib)
	got, err := luatest.Eval(L, `msys.cidr.define("d", {type="datasource", query="q1"}) and msys.cidr.query("d", "192.0.2.1")`)
	if err != nil || got != "q1" {
		t.Fatalf("got %s %v, want q1", got, err)
	}
}

func TestReloadAndRefresh(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "zone", "192.0.2.0/24 :2:old\n")
	lib := newLibrary(t, Options{CheckInterval: 10 * time.Millisecond})
	L := luatest.NewState(t, lib)
	if err := L.DoString(fmt.Sprintf(`
		msys.cidr.define("manual", {type="rbldnsd", source=%q, refresh=0})
		msys.cidr.define("auto", {type="rbldnsd", source=%q, refresh=0.05})`, path, path)); err != nil {
		t.Fatal(err)
	}
	// Replace the file with a new mtime; the rename keeps readers atomic.
	tmp := writeFile(t, dir, "zone.new", "192.0.2.0/24 :3:new\n")
	future := time.Now().Add(time.Hour)
	os.Chtimes(tmp, future, future)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "the auto table to refresh", func() bool {
		got, _ := luatest.Eval(L, `msys.cidr.query("auto", "192.0.2.1")`)
		return got == "127.0.0.3"
	})
	if got, _ := luatest.Eval(L, `msys.cidr.query("manual", "192.0.2.1")`); got != "127.0.0.2" {
		t.Errorf("manual table changed without reload: %s", got)
	}
	if got, _ := luatest.Eval(L, `msys.cidr.reload("manual") and msys.cidr.query("manual", "192.0.2.1")`); got != "127.0.0.3" {
		t.Errorf("after reload: %s", got)
	}
	// A vanished source keeps the old data and reports the error.
	os.Remove(path)
	got, err := luatest.Eval(L, `msys.cidr.reload("manual")`)
	if err != nil || !strings.HasPrefix(got, "false ") {
		t.Errorf("reload of missing file: %s %v", got, err)
	}
	if got, _ := luatest.Eval(L, `msys.cidr.query("manual", "192.0.2.1")`); got != "127.0.0.3" {
		t.Errorf("data lost after failed reload: %s", got)
	}
}

// bigZone writes an rbldnsd file of one million IPv4 /32 and /24
// prefixes and returns its path.
func bigZone(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "big.zone")
	var sb strings.Builder
	for i := range 1_000_000 {
		a := uint32(i) * 4099
		if i%4 == 0 {
			fmt.Fprintf(&sb, "%d.%d.%d.0/24 :3:net\n", byte(a>>24), byte(a>>16), byte(a>>8))
		} else {
			fmt.Fprintf(&sb, "%d.%d.%d.%d\n", byte(a>>24), byte(a>>16), byte(a>>8), byte(a))
		}
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkQuery1M runs msys.cidr.query against a table of one million
// prefixes.
func BenchmarkQuery1M(b *testing.B) {
	path := bigZone(b)
	lib := newLibrary(b, Options{})
	if err := lib.Define(context.Background(), "big", Definition{Type: TypeRbldnsd, Source: path}); err != nil {
		b.Fatal(err)
	}
	if n, _ := lib.Len("big"); n != 1_000_000 {
		b.Fatalf("loaded %d entries", n)
	}
	L := luatest.NewState(b, lib)
	// GetField, not raw reads: msys and msys.cidr are read-only views,
	// and msys.cidr is opened by the first read.
	fn := L.GetField(L.GetField(L.GetGlobal("msys"), "cidr"), "query")
	addrs := make([]lua.LValue, 1024)
	for i := range addrs {
		a := uint32(i) * 4099 * 977
		addrs[i] = lua.LString(fmt.Sprintf("%d.%d.%d.%d", byte(a>>24), byte(a>>16), byte(a>>8), byte(a)))
	}
	name := lua.LString("big")
	i := 0
	for b.Loop() {
		if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, name, addrs[i%len(addrs)]); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
		i++
	}
}

// BenchmarkLoad1M measures parsing and flattening one million prefixes.
func BenchmarkLoad1M(b *testing.B) {
	path := bigZone(b)
	lib := newLibrary(b, Options{})
	for b.Loop() {
		if err := lib.Reload(context.Background(), "big"); err != nil {
			if err := lib.Define(context.Background(), "big", Definition{Type: TypeRbldnsd, Source: path}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
