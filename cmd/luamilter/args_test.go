package main

import (
	"strings"
	"testing"
)

func TestFlagsFirst(t *testing.T) {
	tests := []struct{ in, want string }{
		{"test a.eml --json", "test --json a.eml"},
		{"test a.eml b.eml --script p.lua --rcpt x@y", "test --script p.lua --rcpt x@y a.eml b.eml"},
		{"test --script=p.lua a.eml -s q.lua", "test --script=p.lua -s q.lua a.eml"},
		{"test - --json", "test --json -"},
		{"check p.lua --config c.toml q.lua", "check --config c.toml p.lua q.lua"},
		{"import-momentum ec.conf -o out.toml", "import-momentum -o out.toml ec.conf"},
		{"test a.eml -- --json", "test a.eml -- --json"},
		{"serve --watch --listen inet:1.2.3.4:5", "serve --watch --listen inet:1.2.3.4:5"},
		{"nosuchcommand a --b", "nosuchcommand a --b"},
	}
	for _, tc := range tests {
		in := append([]string{"luamilter"}, strings.Fields(tc.in)...)
		got := strings.Join(flagsFirst(newApp(), in)[1:], " ")
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFlagAfterArgument runs a subcommand with a flag after a file and
// checks the flag is applied.
func TestFlagAfterArgument(t *testing.T) {
	rc, out := runBinary(t, nil, "check", "../../examples/policy.lua", "--log-level", "nonsense")
	if rc == 0 || !strings.Contains(out, "nonsense") {
		t.Fatalf("--log-level after the script was ignored: rc %d\n%s", rc, out)
	}
}
