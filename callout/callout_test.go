package callout

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range All() {
		if seen[c.Name] {
			t.Errorf("%s declared twice", c.Name)
		}
		seen[c.Name] = true
		if _, ok := NeverRuns(c.Name); ok {
			t.Errorf("%s is both a callout and a hook that never runs", c.Name)
		}
		if c.PerRecipient && !c.Content {
			t.Errorf("%s runs per recipient before the content is there", c.Name)
		}
		if got, ok := Lookup(c.Name); !ok || got != c {
			t.Errorf("Lookup(%s) = %+v, %v", c.Name, got, ok)
		}
	}
	if !slices.IsSorted(Names()) || len(Names()) != len(All()) {
		t.Errorf("Names() = %v", Names())
	}
	if !slices.IsSorted(KnownNames()) {
		t.Errorf("KnownNames() not sorted")
	}
	if _, ok := Lookup("validate_rcpt"); ok {
		t.Error("a misspelled callout was found")
	}
}

// readmeStage is how the README's callout table names each stage.
var readmeStage = map[Stage]string{
	Load: "start, reload, stop", Connect: "connect", Helo: "HELO/EHLO", Mail: "MAIL FROM",
	Rcpt: "RCPT TO", Data: "DATA", EndOfMessage: "end of message", Close: "close",
}

// TestReadmeTable: the README's "How callouts map to SMTP" table lists
// every callout, in the order they run, with the stage declared here.
func TestReadmeTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## How callouts map to SMTP\n")
	if !ok {
		t.Fatal("README has no callout table")
	}
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, line)
		}
		if len(rows) > 0 && !strings.HasPrefix(line, "|") {
			break
		}
	}
	last := -1
	for _, c := range All() {
		at := slices.IndexFunc(rows, func(r string) bool {
			first, _, _ := strings.Cut(strings.TrimPrefix(r, "| "), " | ")
			return strings.Contains(first, "`"+c.Name+"`") || strings.Contains(first, "`"+c.Name+"(")
		})
		if at < 0 {
			t.Errorf("README's callout table lacks %s", c.Name)
			continue
		}
		cols := strings.Split(rows[at], " | ")
		if len(cols) < 2 || cols[1] != readmeStage[c.Stage] {
			t.Errorf("README puts %s at %q, the table at %s (%q)", c.Name, cols[1], c.Stage, readmeStage[c.Stage])
		}
		if c.Name != Deinit && at < last {
			t.Errorf("README lists %s out of order", c.Name)
		}
		last = at
	}
}
