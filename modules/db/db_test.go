package db_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/luamilter/luamilter/modules/db"
	"github.com/luamilter/luamilter/modules/db/dbtest"
	st "github.com/luamilter/luamilter/modules/store/storetest"
)

// engine opens one datasource named "t" of one kind.
type engine struct {
	name string
	uri  func(t testing.TB) string
}

func engines() []engine {
	return []engine{
		{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "t.db") }},
		{"postgres", func(t testing.TB) string { return dbtest.StartPostgres(t).URI }},
	}
}

func openDS(t testing.TB, uri string, cfg db.Datasource) *db.Datasources {
	t.Helper()
	cfg.Name, cfg.URI = "t", uri
	ds, err := db.Open([]db.Datasource{cfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// helpers gives scenarios rows(...), which runs msys.db.query and joins
// the rows' fields as "a,b;a,b".
const helpers = `
function rows(cache, sql, params, opts)
  local it, err = msys.db.query(cache, sql, params, opts)
  if not it then return nil, err end
  local out = {}
  for row in it do
    out[#out + 1] = tostring(row.firstname) .. "," .. tostring(row.age)
  end
  return table.concat(out, ";")
end`

func TestDB(t *testing.T) {
	steps := []st.Step{
		{Lua: `msys.db.execute("t", "CREATE TABLE names (id INTEGER PRIMARY KEY, firstname TEXT, lastname TEXT, age INTEGER, score REAL)")`, Want: "true"},
		{Lua: `msys.db.execute("t", "INSERT INTO names VALUES (?, ?, ?, ?, ?)", {1, "Ann", "Lee", 25, 1.5})`, Want: "true"},
		{Lua: `msys.db.execute("t", "INSERT INTO names VALUES (:id, :first, :last, :age, :score)", {id = 2, first = "Bo", last = "Kim", age = 35, score = 2})`, Want: "true"},
		{Lua: `msys.db.execute("t", "INSERT INTO names (id, firstname, age) VALUES ($id, $name, ?)", {id = 3, name = "Cy", 45})`, Want: "true"},
		{Lua: `msys.db.execute("t", "INSERT INTO names VALUES (?, ?, ?, ?, ?)", {4, "Di", nil, 55})`, Want: "true"},
		{Lua: `rows("t", "SELECT firstname, age FROM names WHERE age < ? ORDER BY id", {40})`, Want: "Ann,25;Bo,35"},
		{Lua: `rows("t", "SELECT firstname, age FROM names WHERE age > :a ORDER BY id", {a = 40})`, Want: "Cy,45;Di,55"},
		{Lua: `rows("t", "SELECT firstname, age FROM names WHERE age > 100")`, Want: ""},
		{Lua: `msys.db.fetch_row("t", "SELECT age, score, lastname FROM names WHERE id = ?", {1}).score`, Want: "1.5"},
		{Lua: `msys.db.fetch_row("t", "SELECT age FROM names WHERE id = ?", {1}).age + 1`, Want: "26"},
		{Lua: `msys.db.fetch_row("t", "SELECT lastname FROM names WHERE id = 4").lastname == nil`, Want: "true"},
		{Lua: `msys.db.fetch_row("t", "SELECT lastname FROM names WHERE id = 99")`, Want: "nil"},
		{Lua: `msys.db.fetch_row("t", "SELECT '?:x$y' AS q").q`, Want: "?:x$y"},
		{Lua: `msys.db.fetch_row("t", "SELECT 'it''s' AS q -- a comment with ?\n").q`, Want: "it's"},
		// The result cache answers until nocache asks the database again.
		{Lua: `rows("t", "SELECT firstname, age FROM names WHERE id = ?", {1})`, Want: "Ann,25"},
		{Lua: `msys.db.execute("t", "UPDATE names SET age = 26 WHERE id = ?", {1})`, Want: "true"},
		{Lua: `rows("t", "SELECT firstname, age FROM names WHERE id = ?", {1})`, Want: "Ann,25"},
		{Lua: `rows("t", "SELECT firstname, age FROM names WHERE id = ?", {1}, {nocache = true})`, Want: "Ann,26"},
		{Lua: `rows("t", "SELECT firstname, age FROM names WHERE id = ?", {1})`, Want: "Ann,26"},
		// Failures: raised by default, returned with raise_error = false.
		{Lua: `msys.db.query("t", "SELECT nope FROM nowhere")`, Err: "msys.db.query: datasource t:"},
		{Lua: `select(2, msys.db.query("t", "SELECT nope FROM nowhere", nil, {raise_error = false})) ~= nil`, Want: "true"},
		{Lua: `msys.db.query("t", "SELECT nope FROM nowhere", nil, {raise_error = false}) == nil`, Want: "true"},
		{Lua: `msys.db.fetch_row("t", "SELECT nope FROM nowhere", nil, {raise_error = false}) == nil`, Want: "true"},
		{Lua: `(msys.db.execute("t", "INSERT INTO nowhere VALUES (1)", nil, {raise_error = false}))`, Want: "false"},
		{Lua: `msys.db.execute("t", "INSERT INTO nowhere VALUES (1)")`, Err: "msys.db.execute: datasource t:"},
		{Lua: `msys.db.query("other", "SELECT 1")`, Err: `datasource "other" is not configured`},
		{Lua: `msys.db.query("t", "SELECT :x")`, Err: `no parameter named "x"`},
		{Lua: `msys.db.query("t", "SELECT ?", {{}})`, Err: "cannot bind a table"},
		{Lua: `msys.db.query("t", "SELECT ?", "x")`, Err: "bad argument #3"},
		{Lua: `msys.db.query("t", "SELECT 'open)")`, Err: "unterminated ' quote"},
	}
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			ds := openDS(t, e.uri(t), db.Datasource{})
			L := st.NewState(t, "", db.NewLibrary(ds), db.NewDatasourceLibrary())
			if err := L.DoString(helpers); err != nil {
				t.Fatal(err)
			}
			st.Run(t, L, steps)
			if e.name == "postgres" {
				st.Run(t, L, []st.Step{
					{Lua: `msys.db.fetch_row("t", "SELECT $1::int + 1 AS n", {41}).n`, Want: "42"},
					{Lua: `(function() local r = msys.db.fetch_row("t", "SELECT true AS b, NULL::text AS z, 'x'::bytea AS y, 1.25::numeric AS d") return r.b, r.z, r.y, r.d end)()`, Want: "true nil x 1.25"},
				})
			}
		})
	}
}

// TestGoAPI is what msys.cidr uses: Query returns column names and rows.
func TestGoAPI(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			ds := openDS(t, e.uri(t), db.Datasource{NoCache: true})
			ctx := context.Background()
			if _, err := ds.Exec(ctx, "t", "CREATE TABLE cidrs (cidr TEXT, val TEXT)", db.Params{}); err != nil {
				t.Fatal(err)
			}
			if _, err := ds.Exec(ctx, "t", "INSERT INTO cidrs VALUES (?, ?), (?, ?)", db.Params{Positional: []any{"10.0.0.0/8", "a", "192.0.2.0/24", nil}}); err != nil {
				t.Fatal(err)
			}
			res, err := ds.Query(ctx, "t", "SELECT cidr, val FROM cidrs ORDER BY cidr", db.Params{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Columns) != 2 || res.Columns[0] != "cidr" || len(res.Rows) != 2 || res.Rows[0][1] != "a" || res.Rows[1][1] != nil {
				t.Fatalf("Query = %+v", res)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	for _, c := range []db.Datasource{{Name: "x", URI: "mysql://h/db"}, {Name: "", URI: "sqlite::memory:"}, {Name: "x", URI: "sqlite:"}} {
		if _, err := db.Open([]db.Datasource{c}, nil); err == nil {
			t.Errorf("Open(%+v): no error", c)
		}
	}
	if _, err := db.Open([]db.Datasource{{Name: "a", URI: "sqlite::memory:"}, {Name: "a", URI: "sqlite::memory:"}}, nil); err == nil {
		t.Error("duplicate names: no error")
	}
	for _, s := range []string{"noequals", "=sqlite:/x", "name="} {
		if _, err := db.ParseDatasource(s); err == nil {
			t.Errorf("ParseDatasource(%q): no error", s)
		}
	}
	if d, err := db.ParseDatasource("users = postgres://h/db"); err != nil || d.Name != "users" || d.URI != "postgres://h/db" {
		t.Errorf("ParseDatasource = %+v, %v", d, err)
	}
}
