package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// readmeExamples finds the README's sample sessions: a code block whose
// first line is "$ luamilter ..." and whose other lines are its output.
func readmeExamples(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	blocks := strings.Split(string(b), "```")
	for i := 1; i < len(blocks); i += 2 {
		lines := strings.Split(blocks[i], "\n")
		if len(lines) < 3 {
			continue
		}
		first := strings.TrimSpace(lines[1])
		if !strings.HasPrefix(first, "$ luamilter ") {
			continue
		}
		indent := lines[1][:strings.Index(lines[1], "$")]
		var want []string
		for _, l := range lines[2:] {
			want = append(want, strings.TrimPrefix(l, indent))
		}
		out[strings.TrimPrefix(first, "$ luamilter ")] = strings.TrimRight(strings.Join(want, "\n"), " \n") + "\n"
	}
	if len(out) == 0 {
		t.Fatal("no sample sessions found in README.md")
	}
	return out
}

// TestReadmeExamples runs each sample session of the README from the
// repository root and compares what the binary prints with the README.
func TestReadmeExamples(t *testing.T) {
	bin := binary(t)
	for args, want := range readmeExamples(t) {
		t.Run(args, func(t *testing.T) {
			cmd := exec.Command(bin, strings.Fields(args)...)
			cmd.Dir = "../.."
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			if err := cmd.Run(); err != nil {
				t.Fatalf("luamilter %s: %v", args, err)
			}
			if got := stdout.String(); got != want {
				t.Errorf("luamilter %s prints:\n%s\nREADME.md shows:\n%s", args, got, want)
			}
		})
	}
}
