package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/luamilter/luamilter/modules/db"
	st "github.com/luamilter/luamilter/modules/store/storetest"
)

// TestQueryTimeout checks that a query never outlives the Lua state's
// context, and that the pool is usable afterwards.
func TestQueryTimeout(t *testing.T) {
	slow := map[string]string{
		"sqlite":   "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c",
		"postgres": "SELECT pg_sleep(30) AS n",
	}
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			ds := openDS(t, e.uri(t), db.Datasource{})
			L := st.NewState(t, "", db.NewLibrary(ds))
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			L.SetContext(ctx)
			start := time.Now()
			_, err := st.Eval(L, fmt.Sprintf("msys.db.query(%q, %q, nil, {raise_error = false})", "t", slow[e.name]))
			if d := time.Since(start); d > 10*time.Second { // a hang guard only
				t.Fatalf("query ran %v past a 300ms context", d)
			}
			if err != nil {
				t.Fatalf("raise_error = false still raised: %v", err)
			}
			L.SetContext(context.Background())
			st.Run(t, L, []st.Step{{Lua: `msys.db.fetch_row("t", "SELECT 1 AS one").one`, Want: "1"}})
		})
	}
}

func BenchmarkQuery(b *testing.B) {
	for _, e := range engines() {
		uri := e.uri(b)
		for _, nocache := range []bool{false, true} {
			name := e.name + "/cached"
			if nocache {
				name = e.name + "/uncached"
			}
			b.Run(name, func(b *testing.B) {
				ds, err := db.Open([]db.Datasource{{Name: "t", URI: uri, NoCache: nocache}}, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer ds.Close()
				ctx := context.Background()
				ds.Exec(ctx, "t", "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)", db.Params{})
				ds.Exec(ctx, "t", "INSERT INTO kv VALUES ('a', 'b') ON CONFLICT DO NOTHING", db.Params{})
				for b.Loop() {
					res, err := ds.Query(ctx, "t", "SELECT v FROM kv WHERE k = ?", db.Params{Positional: []any{"a"}})
					if err != nil || len(res.Rows) != 1 {
						b.Fatal(res, err)
					}
				}
			})
		}
	}
}
