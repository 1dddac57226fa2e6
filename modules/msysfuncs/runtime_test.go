package msysfuncs_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/base64"
	"github.com/luamilter/luamilter/modules/dumper"
	"github.com/luamilter/luamilter/modules/idn"
	"github.com/luamilter/luamilter/modules/json"
	"github.com/luamilter/luamilter/modules/msysfuncs"
	"github.com/luamilter/luamilter/modules/pcre"
	"github.com/luamilter/luamilter/modules/qp"
)

// policy uses every library the way Momentum scripts do: through require
// and the msys table of a sandboxed runtime State.
const policy = `
require("msys.core")
require("msys.pcre")
require("msys.dumper")
require("msys.base64")
require("msys.qp")
require("msys.idn")
require("json")

local m = msys.pcre.match("<bob+x@example.com>", "(?P<local>[^<@]+)@(?P<domain>[^>]+)")
assert(m["local"] == "bob+x" and m.domain == "example.com")
assert(msys.pcre.split("a@b", "@")[2] == "b")
assert(msys.base64.decode(msys.base64.encode("hi")) == "hi")
assert(msys.qp.decode(msys.qp.encode("=")) == "=")
assert(msys.idn.to_idn("bücher.example") == "xn--bcher-kva.example")
local obj = json.decode('{"a":[1,2]}')
assert(tostring(json.encode(obj)) == '{"a":[1,2]}')
assert(msys.dumper.Dumper({1}) == "return {\n  1\n}")
assert(msys.type(msys) == "table")
assert(msys.parseRFC2822Addresses("x <a+b@c.d>", "detail")[1] == "b")
assert(msys.readfile(SELF) ~= nil)
msys.sleep(0)

local mod = {}
function mod:validate_connect(accept, vctx) return msys.core.VALIDATE_CONT end
msys.registerModule("libs", mod)
`

func TestLibrariesInRuntime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.lua")
	if err := os.WriteFile(path, []byte(`SELF = "`+path+`"`+policy), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := luart.New(luart.Config{
		Scripts: []string{path},
		Libraries: []luart.Library{
			pcre.New(pcre.Options{}), json.New(json.Options{}), base64.New(), qp.New(),
			idn.New(), dumper.New(), msysfuncs.New(msysfuncs.Options{ReadDirs: []string{dir}}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	st, err := rt.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rt.Release(st)
}
