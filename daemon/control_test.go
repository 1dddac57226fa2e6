package daemon

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// controlScript registers console commands from the main chunk and from
// init, and counts MAIL FROMs in a global the commands can read, as they
// run on the generation's shared state.
const controlScript = `
seen = 0
msys.registerControl("echo", function(cc)
  local words = {}
  for i = 0, cc.argc - 1 do words[#words + 1] = cc.argv[i] end
  return cc.argc .. ":" .. table.concat(words, "|")
end)
msys.registerControl("chatty", function(cc)
  print("first", cc.argv[1])
  print("second")
  return "done"
end)
msys.registerControl("quiet", function(cc) end)
msys.registerControl("fail", function(cc)
  print("before the error")
  error("boom")
end)
msys.registerControl("spin", function(cc) while true do end end)
msys.registerControl("seen", function(cc) return seen end)

local mod = {}
function mod.init()
  msys.registerControl("frominit", function(cc) return "registered in init" end)
  return true
end
function mod:validate_mailfrom(str, ac, vctx)
  seen = seen + 1
  local ok, err = pcall(msys.registerControl, "fromsession", function() end)
  if not ok then last_session_error = tostring(err) end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("ctl", mod)
msys.registerControl("sessionerror", function(cc) return last_session_error end)
`

// TestRegisterControl runs console commands registered with
// msys.registerControl through the daemon's real control socket.
func TestRegisterControl(t *testing.T) {
	e := startDaemon(t, "script_timeout = \"300ms\"\n"+policyConfig, map[string]string{"policy.lua": controlScript})
	ctl := filepath.Join(e.dir, "control.sock")
	e.play(t, "a@example.org")
	cases := []struct {
		name    string
		args    []string
		want    string // exact output, when errHas is empty
		partial bool   // want is only part of the output
		errHas  []string
		errNone []string
	}{
		{name: "echo", args: []string{"one", "two words"}, want: "3:echo|one|two words"},
		{name: "echo", want: "1:echo"},
		{name: "chatty", args: []string{"x"}, want: "first\tx\nsecond\ndone"},
		{name: "quiet", want: ""},
		{name: "frominit", want: "registered in init"},
		{name: "seen", want: "1"},
		{name: "sessionerror", partial: true, want: "register console commands in the script's main chunk or in init()"},
		{name: "fail", errHas: []string{"before the error\n", "control.fail", "boom"}},
		{name: "spin", errHas: []string{"timeout"}},
		{name: "nosuch", errHas: []string{`unknown control command "nosuch"`, "chatty, echo, fail, frominit, quiet, seen, sessionerror, spin"},
			errNone: []string{"fromsession"}},
	}
	for _, c := range cases {
		out, err := RunControl(context.Background(), ctl, c.name, c.args)
		if c.errHas == nil {
			if err != nil || (out != c.want && !(c.partial && strings.Contains(out, c.want))) {
				t.Errorf("%s %q = %q, %v; want %q", c.name, c.args, out, err, c.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %q = %q, want an error", c.name, c.args, out)
			continue
		}
		for _, s := range c.errHas {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s %q: error %q lacks %q", c.name, c.args, err, s)
			}
		}
		for _, s := range c.errNone {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s %q: error %q has %q", c.name, c.args, err, s)
			}
		}
	}
	// The commands' print output went to the console, not to the log.
	if strings.Contains(e.logs.String(), "before the error") {
		t.Errorf("a control's print reached the log")
	}
	// After a timeout the state still serves commands and mail.
	e.play(t, "b@example.org")
	if out, err := RunControl(context.Background(), ctl, "seen", nil); err != nil || out != "2" {
		t.Errorf("seen after the timeout = %q, %v; want 2", out, err)
	}
}

// TestRegisterControlReload checks that a reload replaces the registered
// commands with the new scripts' set.
func TestRegisterControlReload(t *testing.T) {
	e := startDaemon(t, policyConfig, map[string]string{"policy.lua": `msys.registerControl("old", function() return "old" end)`})
	ctl := filepath.Join(e.dir, "control.sock")
	writeFile(t, filepath.Join(e.dir, "policy.lua"), `msys.registerControl("new", function() return "new" end)`)
	if _, err := Control(context.Background(), ctl, "reload"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(e.dir, "policy.lua"), `local x = 1`)
	steps := []struct {
		do     func() (string, error)
		want   string
		errHas string
	}{
		{do: func() (string, error) { return RunControl(context.Background(), ctl, "new", nil) }, want: "new"},
		{do: func() (string, error) { return RunControl(context.Background(), ctl, "old", nil) }, errHas: "the scripts register new"},
		{do: func() (string, error) { return Control(context.Background(), ctl, "reload") }, want: "generation 3, modules "},
		{do: func() (string, error) { return RunControl(context.Background(), ctl, "new", nil) }, errHas: "the scripts register none"},
	}
	for i, s := range steps {
		out, err := s.do()
		switch {
		case s.errHas != "" && (err == nil || !strings.Contains(err.Error(), s.errHas)):
			t.Errorf("step %d: %q, %v; want an error with %q", i, out, err, s.errHas)
		case s.errHas == "" && (err != nil || !strings.HasPrefix(out, s.want)):
			t.Errorf("step %d: %q, %v; want %q", i, out, err, s.want)
		}
	}
}
