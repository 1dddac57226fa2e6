package main

import (
	"strings"
	"testing"
)

// TestReleaseCommands checks version, --version, man and completion
// output, which come from the build info and the command definitions.
func TestReleaseCommands(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"version"}, []string{"luamilter ", "commit: ", "go: go1.", "github.com/urfave/cli/v2 v2.", "github.com/d--j/go-milter v0."}},
		{[]string{"--version"}, []string{"luamilter ", "go: go1.", "github.com/yuin/gopher-lua v1."}},
		{[]string{"man"}, []string{".TH luamilter 8", "serve", "import-momentum", "--script-timeout", "--expect"}},
		{[]string{"completion", "bash"}, []string{"complete -o bashdefault", "--generate-bash-completion"}},
		{[]string{"completion", "fish"}, []string{"complete -c luamilter", "serve"}},
		{[]string{"test", "--generate-bash-completion"}, []string{"help"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			rc, out := runBinary(t, nil, tc.args...)
			if rc != 0 {
				t.Fatalf("rc %d:\n%s", rc, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
