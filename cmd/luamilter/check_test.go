package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckReportsFileLineProblems(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(src), 0o644)
		return p
	}
	good := write("good.lua", "local m = {}\nfunction m:validate_data(msg, ac, vctx)\n  if 1 != 2 then return msys.core.VALIDATE_CONT end\nend\nmsys.registerModule('good', m)\n")
	tests := []struct {
		name   string
		files  []string
		rc     int
		output string
	}{
		{"clean", []string{good}, 0, "ok: 1 script(s), modules [good]"},
		{"syntax error", []string{write("syntax.lua", "local m = {}\n\nfunction m:validate_data(\n")}, 1, "syntax.lua:3: unexpected end of file"},
		{"typo in callout", []string{write("typo.lua", "local m = {}\n\nfunction m:validate_rcpt(msg)\nend\nmsys.registerModule('typo', m)\n")}, 1,
			`typo.lua:3: module "typo": "validate_rcpt" is not a callout luamilter knows`},
		{"registered twice", []string{good, write("twice.lua", "msys.registerModule('good', {})\n")}, 1, `twice.lua:1: module "good" registered twice`},
		{"runtime error at load", []string{write("boom.lua", "local x = nil\nlocal y = x.field\n")}, 1, "boom.lua:2: attempt to index"},
		{"missing file", []string{filepath.Join(dir, "nope.lua")}, 1, "nope.lua: load"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"check"}, tc.files...)...)
			out, err := cmd.CombinedOutput()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			}
			if rc != tc.rc || !strings.Contains(string(out), tc.output) {
				t.Fatalf("rc %d, output:\n%s\nwant rc %d and %q", rc, out, tc.rc, tc.output)
			}
		})
	}
}
