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

// TestCheckReportsWhatServeReliesOn checks what check reports beyond
// compiling and loading: init that serve would refuse, misspelled
// msys.core names, Momentum hooks a milter never calls (a note, exit 0),
// and every problem of every file at once.
func TestCheckReportsWhatServeReliesOn(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	module := func(name, body string) string {
		return "local m = {}\n" + body + "function m:validate_data(msg, ac, vctx)\n  return msys.core.VALIDATE_CONT\nend\nmsys.registerModule('" + name + "', m)\n"
	}
	// events records init and deinit, so the test sees that check runs
	// deinit after a successful init (nothing left running).
	events := filepath.Join(dir, "events.log")
	initOK := write("initok.lua", module("initok", "function m:init()\n  msys.timer.every(3600, function() end)\n  local f = io.open('"+events+"', 'a') f:write('init\\n') f:close()\n  return true\nend\n"+
		"function m:deinit()\n  local f = io.open('"+events+"', 'a') f:write('deinit\\n') f:close()\n  return true\nend\n"))
	tests := []struct {
		name   string
		files  []string
		unsafe bool
		rc     int
		want   []string // each in the output
		events string   // the events file afterwards, when set
	}{
		{"init returns 0", []string{write("zero.lua", module("zero", "\nfunction m:init()\n  return 0\nend\n"))}, false, 1,
			[]string{`zero.lua:3: module "zero": init returned 0, want true`}, ""},
		{"init returns nothing", []string{write("none.lua", module("none", "function m:init()\nend\n"))}, false, 1,
			[]string{`none.lua:2: module "none": init returned nothing, want true`}, ""},
		{"init raises", []string{write("raises.lua", module("raises", "function m:init()\n  local db = nil\n  error('no database')\nend\n"))}, false, 1,
			[]string{`raises.lua:4: module "raises": init failed: no database`}, ""},
		{"init ok, deinit runs", []string{initOK}, true, 0, []string{"ok: 1 script(s), modules [initok]"}, "init\ndeinit\n"},
		{"msys.core typo", []string{write("core.lua", module("core", "local core = msys.core\nfunction m:validate_rcptto(msg, str, ac, vctx)\n  vctx:get(core.VCTX_MES, 'k')\n  return msys.core.VALIDATE_CONTINUE\nend\n"))}, false, 1,
			[]string{"core.lua:4: core.VCTX_MES is not in msys.core: it reads as nil; did you mean core.VCTX_MESS?",
				"core.lua:5: msys.core.VALIDATE_CONTINUE is not in msys.core: it reads as nil; did you mean msys.core.VALIDATE_CONT?"}, ""},
		{"typo in a required helper", []string{write("usehelper.lua", "local h = require('helper')\n"+module("usehelper", "")),
			write("helper.lua", "local M = {}\nM.code = msys.core.VALIDATE_DONNE\nreturn M\n")}, false, 1,
			[]string{"helper.lua:2: msys.core.VALIDATE_DONNE is not in msys.core", "did you mean msys.core.VALIDATE_DONE?"}, ""},
		{"hook a milter never calls", []string{write("hook.lua", module("hook", "function m:core_log_delivery_v1(msg)\nend\n"))}, false, 0,
			[]string{`hook.lua:2: note: module "hook": "core_log_delivery_v1" is a Momentum hook that never runs under luamilter: `,
				"ok: 1 script(s), modules [hook]"}, ""},
		{"documented hook missing from the old list", []string{write("routing.lua", module("routing", "function m:core_config_get_message_routing_domain(msg)\nend\n"))}, false, 0,
			[]string{`routing.lua:2: note: module "routing": "core_config_get_message_routing_domain" is a Momentum hook`}, ""},
		{"unknown callout suggests the closest", []string{write("cotypo.lua", module("cotypo", "function m:validate_mailfrm(str, ac, vctx)\nend\n"))}, false, 1,
			[]string{`cotypo.lua:2: module "cotypo": "validate_mailfrm" is not a callout luamilter knows (misspelled? it will never run); did you mean "validate_mailfrom"?`}, ""},
		{"every problem of every file", []string{
			write("broken.lua", "local m = {}\n\nfunction m:validate_data(\n"),
			write("boom.lua", "local x = nil\nlocal y = x.field\n"),
			write("later.lua", module("later", "function m:validate_rcpt(msg)\nend\nfunction m:init()\n  return nil\nend\n")),
		}, false, 1, []string{
			"broken.lua:3: unexpected end of file",
			"boom.lua:2: attempt to index",
			`later.lua:2: module "later": "validate_rcpt" is not a callout`,
			`later.lua:4: module "later": init returned nil, want true`,
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(events)
			args := []string{"check"}
			if tc.unsafe {
				args = append(args, "--unsafe-lua")
			}
			cmd := exec.Command(bin, append(args, tc.files...)...)
			var stdout strings.Builder
			cmd.Stdout = &stdout
			err := cmd.Run()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			}
			out := stdout.String()
			if rc != tc.rc {
				t.Errorf("rc %d, want %d; output:\n%s", rc, tc.rc, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.events != "" {
				got, _ := os.ReadFile(events)
				if string(got) != tc.events {
					t.Errorf("events %q, want %q (init then deinit)", got, tc.events)
				}
			}
		})
	}
}
