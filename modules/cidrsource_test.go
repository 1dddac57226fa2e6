package modules

import (
	"context"
	"database/sql"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/luamilter/luamilter/modules/cidr"
	"github.com/luamilter/luamilter/modules/db"
)

// WriteSQLite creates the SQLite database file path and runs queries in
// it, for the tests of this directory (both packages).
func WriteSQLite(t testing.TB, path string, queries ...string) {
	t.Helper()
	sqlDB, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	for _, q := range queries {
		if _, err := sqlDB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDatasourceExclusion checks that a datasource row takes the "!"
// exclusion marker as a file line does, blanks after it included.
func TestDatasourceExclusion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lists.db")
	WriteSQLite(t, path,
		"CREATE TABLE blocks (cidr TEXT, value TEXT)",
		"INSERT INTO blocks VALUES ('192.0.2.0/24', 'doc'), ('!192.0.2.7', ''), ('! 192.0.2.8', '')")
	ds, err := db.Open([]db.Datasource{{Name: "lists", URI: "sqlite:" + path}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	src, err := cidrDatasource(ds)("blocks", cidr.Definition{CacheName: "lists", Query: "SELECT cidr, value FROM blocks"})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := src.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []cidr.Entry{
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Value: "doc"},
		{Prefix: netip.MustParsePrefix("192.0.2.7/32"), Exclude: true},
		{Prefix: netip.MustParsePrefix("192.0.2.8/32"), Exclude: true},
	}
	if len(entries) != len(want) {
		t.Fatalf("got %d entries %+v, want %+v", len(entries), entries, want)
	}
	for i, e := range entries {
		if e.Prefix != want[i].Prefix || e.Exclude != want[i].Exclude || (!e.Exclude && e.Value != want[i].Value) {
			t.Errorf("entry %d = %+v, want %+v", i, e, want[i])
		}
	}
}
