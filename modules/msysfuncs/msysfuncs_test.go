package msysfuncs

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/luatest"
)

// newState opens the library with opts; the runtime merges its fields
// into msys.
func newState(t *testing.T, opts Options) *lua.LState {
	t.Helper()
	return luatest.NewState(t, New(opts))
}

func runCases(t *testing.T, L func(t *testing.T) *lua.LState, tests []luaCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			luatest.Check(t, L(t), tc.code, tc.wantErr)
		})
	}
}

type luaCase struct{ name, code, wantErr string }

func TestTypeAndAddresses(t *testing.T) {
	newL := func(t *testing.T) *lua.LState {
		L := newState(t, Options{})
		ud := L.NewUserData()
		mt := L.NewTable()
		mt.RawSetString("__name", lua.LString("ec_message"))
		ud.Metatable = mt
		L.SetGlobal("msg", ud)
		L.SetGlobal("plain", L.NewUserData())
		return L
	}
	runCases(t, newL, []luaCase{
		{"type of plain values", `
			assert(msys.type("x") == "string" and msys.type(1) == "number" and msys.type({}) == "table")
			assert(msys.type(nil) == "nil" and msys.type(print) == "function")`, ""},
		{"type of userdata", `assert(msys.type(msg) == "ec_message" and msys.type(plain) == "userdata")`, ""},
		{"type needs an argument", `msys.type()`, "value expected"},
		{"addresses", `
			local t = msys.parseRFC2822Addresses('"Doe, John" <john+news@Example.com>, bob@example.org')
			assert(#t == 2 and t[1] == "john+news@Example.com" and t[2] == "bob@example.org")
			local d = msys.parseRFC2822Addresses('<john+news@example.com>, bob@example.org', "detail")
			assert(d[1] == "news" and d[2] == "")
			assert(msys.parseRFC2822Addresses('john+news@example.com', "user")[1] == "john")
			assert(msys.parseRFC2822Addresses('john+news@example.com', "localpart")[1] == "john+news")
			assert(msys.parseRFC2822Addresses('john+news@example.com', "domain")[1] == "example.com")
			assert(#msys.parseRFC2822Addresses("") == 0)`, ""},
		{"bad component", `msys.parseRFC2822Addresses("a@b", "host")`, `unknown component "host"`},
		{"bad subject", `msys.parseRFC2822Addresses({})`, "string expected, got table"},
	})
}

func TestParseAddressComponents(t *testing.T) {
	tests := []struct {
		in, component string
		want          []string
	}{
		// net/mail rejects the curly quote and unbalanced quote; the
		// lenient split still finds the address (Momentum's idn example).
		{`“John Doe =?utf-8?Q?=28?=" <弗兰克@example.com>`, "domain", []string{"example.com"}},
		{`“John Doe =?utf-8?Q?=28?=" <弗兰克@example.com>`, "all", []string{"弗兰克@example.com"}},
		{`friends: a@x.org, "B" <b@y.org>;`, "all", []string{"a@x.org", "b@y.org"}},
		{`broken "quote <c@z.org>, d@w.org (comment, with comma)`, "all", []string{"c@z.org"}},
		{`x <a@b.c>, <@bad>, e@f.g (Ex)`, "domain", []string{"b.c", "f.g"}},
		{`not an address`, "all", nil},
	}
	for _, tc := range tests {
		got, err := ParseAddressComponents(tc.in, tc.component)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseAddressComponents(%q, %q) = %q, %v; want %q", tc.in, tc.component, got, err, tc.want)
		}
	}
}

func TestReadFile(t *testing.T) {
	allowed := t.TempDir()
	outside := t.TempDir()
	write := func(path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(allowed, "list.txt"), "one\ntwo\n")
	write(filepath.Join(outside, "secret"), "no")
	write(filepath.Join(allowed, "big"), strings.Repeat("x", 100))
	mustLink := func(target, link string) {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	mustLink(filepath.Join(outside, "secret"), filepath.Join(allowed, "escape"))
	mustLink(filepath.Join(allowed, "list.txt"), filepath.Join(outside, "inbound"))

	newL := func(t *testing.T) *lua.LState {
		L := newState(t, Options{ReadDirs: []string{allowed}, MaxFileSize: 50})
		L.SetGlobal("allowed", lua.LString(allowed))
		L.SetGlobal("outside", lua.LString(outside))
		return L
	}
	runCases(t, newL, []luaCase{
		{"reads allowed file", `assert(msys.readfile(allowed .. "/list.txt") == "one\ntwo\n")`, ""},
		{"file URI", `assert(msys.readfile("file://" .. allowed .. "/list.txt") == "one\ntwo\n")`, ""},
		{"dot-dot is cleaned", `
			local s, err = msys.readfile(allowed .. "/../" .. outside:match("[^/]+$") .. "/secret")
			assert(s == nil and err:find("^permission denied: "), err)`, ""},
		{"outside denied", `
			local s, err = msys.readfile(outside .. "/secret")
			assert(s == nil and err:find("^permission denied"), err)`, ""},
		{"missing outside file is denied, not reported missing", `
			local s, err = msys.readfile("/nonexistent/x")
			assert(s == nil and err:find("^permission denied"), err)`, ""},
		{"missing inside file", `
			local s, err = msys.readfile(allowed .. "/nope")
			assert(s == nil and err:find("no such file"), err)`, ""},
		{"symlink leading out is denied", `
			local s, err = msys.readfile(allowed .. "/escape")
			assert(s == nil and err:find("^permission denied"), err)`, ""},
		{"symlink leading in is allowed", `assert(msys.readfile(outside .. "/inbound") == "one\ntwo\n")`, ""},
		{"directory", `
			local s, err = msys.readfile(allowed)
			assert(s == nil and err:find("is a directory"), err)`, ""},
		{"too large", `
			local s, err = msys.readfile(allowed .. "/big")
			assert(s == nil and err:find("larger than 50 bytes"), err)`, ""},
		{"other schemes", `
			local s, err = msys.readfile("http://example.com/x")
			assert(s == nil and err:find("unsupported URI scheme"), err)`, ""},
		{"needs a string", `msys.readfile()`, "string expected, got nil"},
	})
	t.Run("no ReadDirs denies everything", func(t *testing.T) {
		L := newState(t, Options{})
		L.SetGlobal("allowed", lua.LString(allowed))
		if err := L.DoString(`assert(msys.readfile(allowed .. "/list.txt") == nil)`); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSleep(t *testing.T) {
	runCases(t, func(t *testing.T) *lua.LState { return newState(t, Options{}) }, []luaCase{
		{"short sleep", `msys.sleep(0.001); msys.sleep(0); msys.sleep(-1)`, ""},
		{"needs a number", `msys.sleep("soon")`, "number expected"},
		{"rejects infinity", `msys.sleep(1/0)`, "finite number of seconds expected"},
	})
	t.Run("cancelled context ends the sleep", func(t *testing.T) {
		L := newState(t, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		L.SetContext(ctx)
		err := L.DoString(`msys.sleep(3600)`)
		if err == nil || !strings.Contains(err.Error(), "msys.sleep: interrupted: context deadline exceeded") {
			t.Fatalf("error = %v", err)
		}
	})
}
