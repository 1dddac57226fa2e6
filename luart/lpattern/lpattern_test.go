package lpattern

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func caps(xs ...any) []Capture {
	var out []Capture
	for _, x := range xs {
		switch v := x.(type) {
		case string:
			out = append(out, Capture{Text: v})
		case int:
			out = append(out, Capture{Pos: v})
		}
	}
	return out
}

func TestFind(t *testing.T) {
	tests := []struct {
		name       string
		s, p       string
		init       int
		plain      bool
		start, end int
		caps       []Capture
	}{
		{"literal", "hello world", "o w", 1, false, 5, 7, nil},
		{"plain flag", "a.b", ".", 1, true, 2, 2, nil},
		{"special dot", "a.b", ".", 1, false, 1, 1, nil},
		{"empty pattern", "abc", "", 1, false, 1, 0, nil},
		{"empty pattern beyond end", "abc", "", 10, false, 4, 3, nil},
		{"negative init", "abcabc", "b", -2, false, 5, 5, nil},
		{"negative init miss", "abcabc", "a", -2, false, 0, 0, nil},
		{"negative init hit", "abcabc", "b", -5, false, 2, 2, nil},
		{"init before start", "abc", "a", -100, false, 1, 1, nil},
		{"init zero", "abc", "a", 0, false, 1, 1, nil},
		{"anchor", "aab", "^b", 1, false, 0, 0, nil},
		{"anchor with init", "aab", "^b", 3, false, 3, 3, nil},
		{"end anchor", "abab", "ab$", 1, false, 3, 4, nil},
		{"dollar in middle", "a$b", "a$b", 1, false, 1, 3, nil},
		{"captures", "key = value", "(%w+)%s*=%s*(%w+)", 1, false, 1, 11, caps("key", "value")},
		{"position capture", "abc", "()b()", 1, false, 2, 2, caps(2, 3)},
		{"no specials is plain", "a]b", "]", 1, false, 2, 2, nil},
		{"NUL cuts the pattern", "xa\x00b(", "a\x00.(", 1, false, 0, 0, nil},
		{"plain search uses whole pattern", "xa\x00b(", "a\x00b(", 1, false, 2, 5, nil},
		{"frontier", "THE (quick) fox", "%f[%a]%a+", 5, false, 6, 10, nil},
		{"balanced", "x(a(b)c)y", "%b()", 1, false, 2, 8, nil},
		{"back reference", "say 'hi' ok", "(['\"])(.-)%1", 1, false, 5, 8, caps("'", "hi")},
		{"lazy", "<a><b>", "<.->", 1, false, 1, 3, nil},
		{"greedy", "<a><b>", "<.*>", 1, false, 1, 6, nil},
		{"optional", "color colour", "colou?r", 2, false, 7, 12, nil},
		{"high bytes not alpha", "\xe9a", "%a", 1, false, 2, 2, nil},
		{"set with range and class", "--x9", "[%d-]+", 1, false, 1, 2, nil},
		{"negated set", "aab", "[^a]", 1, false, 3, 3, nil},
		{"close bracket first in set", "a]", "[]]", 1, false, 2, 2, nil},
		{"no %g class in 5.1", "ag", "%g", 1, false, 2, 2, nil},
		{"%z matches NUL", "a\x00", "%z", 1, false, 2, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, got, err := Find(tt.s, tt.p, tt.init, tt.plain, Limits{})
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if start != tt.start || (start != 0 && end != tt.end) || !reflect.DeepEqual(got, tt.caps) {
				t.Errorf("Find(%q, %q, %d) = %d, %d, %v; want %d, %d, %v",
					tt.s, tt.p, tt.init, start, end, got, tt.start, tt.end, tt.caps)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		s, p string
		init int
		want []Capture // nil: no match
	}{
		{"hello", "l+", 1, caps("ll")},
		{"  x", "^%s*()", 1, caps(3)},
		{"2024-06-01", "(%d+)-(%d+)-(%d+)", 1, caps("2024", "06", "01")},
		{"abc", "((a)(b))", 1, caps("ab", "a", "b")},
		{"abc", "x", 1, nil},
		{"abc", "c", -1, caps("c")},
		{"aaa", "()a%1", 1, nil}, // a position capture never matches as a back-reference
	}
	for _, tt := range tests {
		got, ok, err := Match(tt.s, tt.p, tt.init, Limits{})
		if err != nil {
			t.Fatalf("Match(%q, %q): %v", tt.s, tt.p, err)
		}
		if ok != (tt.want != nil) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Match(%q, %q) = %v, %v; want %v", tt.s, tt.p, got, ok, tt.want)
		}
	}
}

func TestGsub(t *testing.T) {
	tests := []struct {
		s, p, repl string
		n          int
		want       string
		count      int
	}{
		{"hello world", "o", "0", -1, "hell0 w0rld", 2},
		{"hello world", "(%w+)", "<%1>", -1, "<hello> <world>", 2},
		{"hello world", "%w+", "%0 %0", 1, "hello hello world", 1},
		{"abc", "", "-", -1, "-a-b-c-", 4},
		{"abc", "b", "%%", -1, "a%c", 1},
		{"abc", "b", "%x", -1, "axc", 1},
		{"abc", "b", "%", -1, "a\x00c", 1},
		{"abc", "()b", "%1", -1, "a2c", 1},
		{"abc", "b", "%1", -1, "abc", 1},
		{"aaa", "^a", "b", -1, "baa", 1},
		{"aaa", "a", "b", 0, "aaa", 0},
		{"abc", "%a*", "x", -1, "xx", 2},
	}
	for _, tt := range tests {
		got, n, err := Gsub(tt.s, tt.p, tt.repl, tt.n, Limits{})
		if err != nil {
			t.Fatalf("Gsub(%q, %q, %q): %v", tt.s, tt.p, tt.repl, err)
		}
		if got != tt.want || n != tt.count {
			t.Errorf("Gsub(%q, %q, %q) = %q, %d; want %q, %d", tt.s, tt.p, tt.repl, got, n, tt.want, tt.count)
		}
	}
}

func TestGsubFunc(t *testing.T) {
	got, n, err := GsubFunc("a=1, b=2", "(%w+)=(%w+)", -1, Limits{}, func(c []Capture) (string, bool, error) {
		if c[0].Text == "b" {
			return "", true, nil
		}
		return c[1].Text + "=" + c[0].Text, false, nil
	})
	if err != nil || got != "1=a, b=2" || n != 2 {
		t.Errorf("GsubFunc = %q, %d, %v", got, n, err)
	}
	boom := errors.New("boom")
	_, _, err = GsubFunc("abc", "b", -1, Limits{}, func([]Capture) (string, bool, error) { return "", false, boom })
	if !errors.Is(err, boom) {
		t.Errorf("GsubFunc error = %v, want boom", err)
	}
}

func TestGmatch(t *testing.T) {
	tests := []struct {
		s, p string
		want []string
	}{
		{"one two  three", "%a+", []string{"one", "two", "three"}},
		{"abc", "%a*", []string{"abc", ""}},
		{"abc", "", []string{"", "", "", ""}},
		{"a^a", "^a", []string{"^a"}}, // no anchor in gmatch
		{"k=v, x=y", "(%w+)=(%w+)", []string{"k", "v", "x", "y"}},
	}
	for _, tt := range tests {
		it := Gmatch(tt.s, tt.p, Limits{})
		var got []string
		for {
			c, ok, err := it.Next()
			if err != nil {
				t.Fatalf("Gmatch(%q, %q): %v", tt.s, tt.p, err)
			}
			if !ok {
				break
			}
			for _, x := range c {
				got = append(got, x.String())
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Gmatch(%q, %q) = %q; want %q", tt.s, tt.p, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		s, p string
		want string
	}{
		{"a", "%", "malformed pattern (ends with '%')"},
		{"a", "[a", "malformed pattern (missing ']')"},
		{"a", "[a%]", "malformed pattern (missing ']')"},
		{"a", "[]", "malformed pattern (missing ']')"},
		{"a", "%f", "missing '[' after '%f' in pattern"},
		{"a", "%fa", "missing '[' after '%f' in pattern"},
		{"a", "%b", "unbalanced pattern"},
		{"a", "%ba", "unbalanced pattern"},
		{"a", "%1", "invalid capture index"},
		{"a", "%0", "invalid capture index"},
		{"aa", "(a%1)", "invalid capture index"},
		{"a", "a)", "invalid pattern capture"},
		{"a", "(a", "unfinished capture"},
		{"a", strings.Repeat("()", 33), "too many captures"},
		{strings.Repeat("a", 300), strings.Repeat("a?", 300), msgRecursion},
		{strings.Repeat("a", 40), strings.Repeat(".-", 20) + "x", msgSteps},
	}
	for _, tt := range tests {
		_, _, err := Match(tt.s, tt.p, 1, Limits{})
		var pe *Error
		if !errors.As(err, &pe) || pe.Msg != tt.want {
			t.Errorf("Match(%q, %q) error = %v; want %q", tt.s, tt.p, err, tt.want)
		}
	}
	if _, _, err := Gsub("a", "a", "%2", -1, Limits{}); err == nil || err.Error() != "invalid capture index" {
		t.Errorf("Gsub with %%2: %v", err)
	}
	if _, _, err := Gsub(strings.Repeat("a", 100), "a", "bbbb", -1, Limits{MaxOutput: 300}); err == nil ||
		!strings.Contains(err.Error(), "gsub result too large") {
		t.Errorf("Gsub over MaxOutput: %v", err)
	}
}

// TestLongSubjectsDoNotRecurse checks that repetition over a long subject
// is iterative, as in lstrlib.c, and needs no matcher depth.
func TestLongSubjectsDoNotRecurse(t *testing.T) {
	s := strings.Repeat("a", 1_000_000)
	for _, p := range []string{"^.-b", "^a*b", "^(a+)$", "^[%a]-$"} {
		if _, _, err := Match(s, p, 1, Limits{MaxSteps: 1 << 40, MaxDepth: 5}); err != nil {
			t.Errorf("Match(long, %q): %v", p, err)
		}
	}
}
