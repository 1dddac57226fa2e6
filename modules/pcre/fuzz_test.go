package pcre

import (
	"errors"
	"testing"
)

// FuzzEngine checks that no pattern or subject makes the engine panic,
// that captures are always substrings of the subject and that replace and
// split accept every pattern match accepts.
func FuzzEngine(f *testing.F) {
	for _, seed := range []string{`(?P<a>x)\k<a>`, `[[:alpha:]]+$`, `\Q(\E`, `(?(<n>)a|b)`, `(?<n>a)?(?(n)b|c)`, "\xff+", `\g{-1}`, `[]a]`, `(*UTF)\w+`, `a*`, `\Kb`} {
		f.Add(seed, "xx ab \xff\n")
	}
	e := NewEngine(Options{MatchLimit: 100_000})
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		g, err := e.Match(subject, pattern)
		if err != nil || g == nil {
			return
		}
		for i, s := range g.Text {
			if g.Matched[i] && len(s) > len(subject) {
				t.Fatalf("group %d longer than subject", i)
			}
		}
		var me *MatchError
		if _, _, err := e.Replace(subject, pattern, "[$0]"); err != nil && !errors.As(err, &me) {
			t.Fatalf("Replace failed after Match succeeded: %v", err)
		}
		if _, err := e.Split(subject, pattern); err != nil && !errors.As(err, &me) {
			t.Fatal(err)
		}
	})
}
