package luart

import (
	"context"
	"fmt"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestECStringIsAStringer checks that an ec_string hands its text to
// libraries that accept "a string or an ec_string" through fmt.Stringer,
// as msg:makePart does with its content.
func TestECStringIsAStringer(t *testing.T) {
	_, st := testState(t, `msys.registerModule("e", {})`)
	fn, err := st.L.LoadString(`local s = msys.core.string_new() s:set("body text") return s`)
	if err != nil {
		t.Fatal(err)
	}
	ret, err := st.Call(context.Background(), &CallInfo{Module: "e", Callout: "test"}, fn)
	if err != nil {
		t.Fatal(err)
	}
	ud, ok := ret[0].(*lua.LUserData)
	if !ok {
		t.Fatalf("string_new returned a %s", ret[0].Type())
	}
	s, ok := ud.Value.(fmt.Stringer)
	if !ok {
		t.Fatalf("ec_string value %T is not a fmt.Stringer", ud.Value)
	}
	if got := s.String(); got != "body text" {
		t.Errorf("String() = %q, want %q", got, "body text")
	}
}

// TestRequireAtRunTimeKeepsPackageLoaded checks that require in a callout
// records in the real package.loaded: it once stored a new table in the
// read-only package view, which hid package.loaded's entries.
func TestRequireAtRunTimeKeepsPackageLoaded(t *testing.T) {
	_, st := testState(t, `msys.registerModule("r", {})`)
	got := runChunk(t, st, `local before = package.loaded
local core = require("msys.core")
return tostring(package.loaded == before) .. " " .. tostring(rawget(package, "loaded")) .. " " ..
  tostring(package.loaded["msys.core"] == core) .. " " .. tostring(require("_G") == _G)`)
	if want := "true nil true true"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
