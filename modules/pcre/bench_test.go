package pcre

import (
	"strings"
	"testing"
)

// body100k is a 100 KB message body with the match near the end.
var body100k = strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 1750) +
	"Visit http://phish.example.net/login now\r\n"

func BenchmarkMatch100KB(b *testing.B) {
	e := NewEngine(Options{})
	b.SetBytes(int64(len(body100k)))
	for b.Loop() {
		g, err := e.Match(body100k, `(?i)https?://(?P<host>[a-z0-9.-]+)/`)
		if err != nil || g == nil {
			b.Fatal(g, err)
		}
	}
}

func BenchmarkMatch100KBNoMatch(b *testing.B) {
	e := NewEngine(Options{})
	b.SetBytes(int64(len(body100k)))
	for b.Loop() {
		if g, err := e.Match(body100k, `viagra|casino\s+bonus`); err != nil || g != nil {
			b.Fatal(g, err)
		}
	}
}
