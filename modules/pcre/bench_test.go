package pcre

import (
	"context"
	"strings"
	"testing"
	"time"
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

// benchText is the block benchmark subjects repeat: ordinary mail text
// with no doubled word, no digits after a word and none of the
// alternation's words, so every benchmark pattern scans the whole subject.
const benchText = "Dear customer, thank you for your order of the blue widget. " +
	"Your parcel leaves our warehouse today and should arrive within three working days. " +
	"If anything is missing, reply to this message and our support team will help you. " +
	"Kind regards, the Example Shop team.\r\n"

// benchSubject is benchText repeated to n bytes.
func benchSubject(n int) string {
	return strings.Repeat(benchText, n/len(benchText)+1)[:n]
}

// benchPatterns are the shapes of the comparison with PCRE2's own
// figures: a literal, a case-insensitive alternation, \b with classes and
// a pattern that backtracks at every word.
var benchPatterns = []struct{ name, re string }{
	{"literal", `unsubscribe`},
	{"caseless-alternation", `(?i)viagra|cialis|casino|lottery|winner`},
	{"word-class", `\b[a-z]+[0-9]{2,}\b`},
	{"backtrack", `\b(\w+)\s+\1\b`},
}

var benchSizes = []struct {
	name string
	n    int
}{{"4KB", 4 << 10}, {"256KB", 256 << 10}, {"10MB", 10 << 20}}

// BenchmarkShapes matches each benchmark pattern over subjects of 4 KB,
// 256 KB and 10 MB that it does not match, with the JIT and with the
// interpreter. Allocations are per whole search.
func BenchmarkShapes(b *testing.B) {
	engines := []struct {
		name string
		e    *Engine
	}{{"jit", NewEngine(Options{MatchTimeout: time.Minute})}, {"interp", NewEngine(Options{MatchTimeout: time.Minute, NoJIT: true})}}
	for _, p := range benchPatterns {
		for _, size := range benchSizes {
			subject := benchSubject(size.n)
			for _, en := range engines {
				b.Run(p.name+"/"+size.name+"/"+en.name, func(b *testing.B) {
					b.SetBytes(int64(len(subject)))
					b.ReportAllocs()
					ctx := context.Background()
					for b.Loop() {
						if g, err := en.e.MatchContext(ctx, subject, p.re); err != nil || g != nil {
							b.Fatal(g, err)
						}
					}
				})
			}
		}
	}
}
