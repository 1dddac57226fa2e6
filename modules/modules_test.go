package modules_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules"
	"github.com/luamilter/luamilter/modules/db"
)

// TestAllLibrariesInOneRuntime loads every library into the real runtime
// and runs a script that uses each namespace, including a msys.cidr table
// of type 'datasource' on a SQLite datasource.
func TestAllLibrariesInOneRuntime(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "lists.db")
	modules.WriteSQLite(t, dbPath,
		"CREATE TABLE blocks (net TEXT, reason TEXT)",
		"INSERT INTO blocks VALUES ('192.0.2.0/24', 'documentation net'), ('2001:db8::/32', 'v6 doc'), ('!192.0.2.7', '')")
	set, err := modules.Build(modules.Config{DNSServers: []string{"127.0.0.1:1"},
		Datasources: []db.Datasource{{Name: "lists", URI: "sqlite:" + dbPath}}})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	script := filepath.Join(dir, "all.lua")
	os.WriteFile(script, []byte(`
require("msys.pcre"); require("json"); require("msys.cidr"); require("msys.db"); require("msys.datasource")
local function check(cond, what) if not cond then error("failed: " .. what) end end
local m = msys.pcre.match("user+tag@example.com", "(?P<user>[^+]+)\\+(\\w+)@")
check(m.user == "user" and m[2] == "tag", "pcre")
check(msys.base64.decode(msys.base64.encode("hi")) == "hi", "base64")
check(tostring(json.encode({a = 1})) == '{"a":1}', "json")
check(msys.type("x") == "string", "msys.type")
check(msys.parseRFC2822Addresses("A <a@b.example>", "domain")[1] == "b.example", "parseRFC2822Addresses")
msys.cidr.define("blocks", {type = "datasource", cachename = "lists",
  query = "SELECT net, reason FROM blocks", cidr_column = "net", value_column = "reason"})
check(msys.cidr.query("blocks", "192.0.2.1") == "documentation net", "cidr datasource v4")
check(msys.cidr.query("blocks", "192.0.2.7") == nil, "cidr datasource exclusion")
check(msys.cidr.query("blocks", "2001:db8::1") == "v6 doc", "cidr datasource v6")
local row = msys.db.fetch_row("lists", "SELECT count(*) AS n FROM blocks")
check(tonumber(row.n) == 3, "db")
check(type(msys.dnsLookup) == "function" and type(msys.http.client.new) == "function", "dns/http present")
msys.registerModule("all", {})
`), 0o644)
	rt, err := luart.New(luart.Config{Scripts: []string{script}, Libraries: set.Libraries, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if _, err := rt.Acquire(context.Background()); err != nil && !strings.Contains(err.Error(), "nothing") {
		t.Fatal(err)
	}
}
