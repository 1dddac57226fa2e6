package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestHelp checks that the top-level and every subcommand's --help print
// a usage with every flag documented.
func TestHelp(t *testing.T) {
	app := newApp()
	cases := [][]string{{"--help"}}
	for _, c := range app.Commands {
		cases = append(cases, []string{c.Name, "--help"})
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			app := newApp()
			var out bytes.Buffer
			app.Writer, app.ErrWriter = &out, &out
			if err := app.Run(append([]string{"luamilter"}, args...)); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if !strings.Contains(text, "USAGE:") {
				t.Errorf("no USAGE section:\n%s", text)
			}
			if len(args) == 1 {
				for _, c := range app.Commands {
					if !strings.Contains(text, c.Name) || c.Usage == "" {
						t.Errorf("command %s missing or undocumented", c.Name)
					}
				}
				return
			}
			cmd := app.Command(args[0])
			for _, f := range cmd.Flags {
				df, ok := f.(cli.DocGenerationFlag)
				if !ok || df.GetUsage() == "" {
					t.Errorf("flag %v has no usage text", f.Names())
				}
				if !strings.Contains(text, "--"+f.Names()[0]) {
					t.Errorf("flag --%s not in help", f.Names()[0])
				}
			}
			for _, line := range strings.Split(text, "\n") {
				if len(line) > 200 {
					t.Errorf("help line too long (%d): %s", len(line), line)
				}
			}
		})
	}
}
