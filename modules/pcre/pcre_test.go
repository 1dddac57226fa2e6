package pcre

import (
	"context"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/luatest"
)

func TestLua(t *testing.T) {
	lib := NewLibrary(NewEngine(Options{MatchTimeout: 200 * time.Millisecond}))
	tests := []struct {
		name    string
		code    string
		wantErr string // substring of the raised error; "" = must succeed
	}{
		{"no match is nil", `assert(msys.pcre.match("abc", "x") == nil)`, ""},
		{"whole and captures", `
			local m = msys.pcre.match("user@example.com", "(\\w+)@(\\w+)\\.com")
			assert(m[0] == "user@example.com" and m[1] == "user" and m[2] == "example")`, ""},
		{"python named groups number like PCRE", `
			local m = msys.pcre.match("ab", "(?P<x>a)(b)")
			assert(m[1] == "a" and m[2] == "b" and m.x == "a", tostring(m[1]))`, ""},
		{"dotnet named groups", `
			local m = msys.pcre.match("250 ok", "^\\s*(?<code>[2345]\\d{2})\\s")
			assert(m.code == "250" and m[1] == "250")`, ""},
		{"sample policy pattern", `
			local m, errstr, errnum = msys.pcre.match("<bob@example.com>", "(?P<localpart>[^@<]+)@(?P<domain>[^>]+)")
			assert(m.localpart == "bob" and m.domain == "example.com" and errstr == nil)`, ""},
		{"unmatched optional group is false", `
			local m = msys.pcre.match("ac", "a(b)?(c)")
			assert(m[1] == false and m[2] == "c")`, ""},
		{"named backreference", `
			assert(msys.pcre.match("abab", "(?P<p>ab)(?P=p)")[0] == "abab")
			assert(msys.pcre.match("xx", "(?<c>x)\\k<c>")[0] == "xx")
			assert(msys.pcre.match("xx", "(?<c>x)\\g{c}")[0] == "xx")`, ""},
		{"case insensitive", `assert(msys.pcre.match("HELLO", "(?i)hello")[0] == "HELLO")`, ""},
		{"dollar before final newline", `
			assert(msys.pcre.match("abc\n", "c$"))
			assert(not msys.pcre.match("abc\nd", "c$"))
			assert(msys.pcre.match("abc\nd", "(?m)c$"))`, ""},
		{"posix class and ascii digit", `
			assert(msys.pcre.match("x9", "[[:digit:]]")[0] == "9")
			assert(msys.pcre.match("\217\163", "\\d") == nil)`, ""},
		{"byte mode: dot is one byte", `
			assert(msys.pcre.match("h\195\169llo", "h.l") == nil)
			assert(msys.pcre.match("h\195\169llo", "h..l")[0] == "h\195\169l")`, ""},
		{"utf mode on request", `
			assert(msys.pcre.match("h\195\169llo", "(*UTF)h.l")[0] == "h\195\169l")
			assert(msys.pcre.match("h\195\169llo", "(*UTF8)h.l")[0] == "h\195\169l")
			assert(msys.pcre.match("caf\233 h\195\169", "(*UTF)h\\x{e9}")[0] == "h\195\169")`, ""},
		{"hex escapes are bytes", `
			assert(msys.pcre.match("caf\233", "\\xE9")[0] == "\233")
			assert(msys.pcre.match("\233", "[\\x80-\\xff]")[0] == "\233")`, ""},
		{"word boundary and classes are ascii", `
			assert(msys.pcre.match("\233t\233", "\\bt\\b")[0] == "t")`, ""},
		{"possessive and atomic", `
			assert(msys.pcre.match("aaa", "a++a") == nil)
			assert(msys.pcre.match("foo bar", "\\w++ (?>bar)")[0] == "foo bar")`, ""},
		{"pcre escapes", `
			assert(msys.pcre.match("a \t\r\nb", "a\\h+\\v+b")[0] == "a \t\r\nb")
			assert(msys.pcre.match("a \t\r\nb", "a\\h+\\R+b")[0] == "a \t\r\nb")
			assert(msys.pcre.match("foobar", "foo\\Kbar")[0] == "bar")
			assert(msys.pcre.match("a\nb", "a\\N") == nil)
			assert(msys.pcre.match("ab\n", "b\\Z")[0] == "b")
			assert(msys.pcre.match("aaa", "(?U)a+")[0] == "a")`, ""},
		{"literal bracket in class", `assert(msys.pcre.match("a[b", "[[]")[0] == "[")`, ""},
		{"quoted literal", `assert(msys.pcre.match("a.b*c", "\\Q.b*\\E")[0] == ".b*")`, ""},
		{"8-bit bytes come back unchanged", `
			local m = msys.pcre.match("caf\233 ok", "caf(.) (ok)")
			assert(m[1] == "\233" and m[2] == "ok")
			assert(msys.pcre.match("\233", "(*UTF)\\xe9") == nil)
			assert(msys.pcre.match("\233\195\169", "(*UTF).")[0] == "\195\169")`, ""},
		{"invalid utf8 byte in pattern", `assert(msys.pcre.match("x\233y", "\233y")[0] == "\233y")`, ""},
		{"compile error returns errstr", `
			local m, errstr, errnum = msys.pcre.match("abc", "(a")
			assert(m == nil and errstr:find("missing closing parenthesis") and errnum > 0, errstr)`, ""},
		{"unknown name reference", `
			local m, errstr, errnum = msys.pcre.match("abc", "\\k<nope>")
			assert(m == nil and errstr:find("non%-existent") and errnum == 115, errstr)`, ""},
		{"duplicate names", `
			local m, errstr = msys.pcre.match("aa", "(?<a>a)(?<a>a)")
			assert(m == nil and errstr:find("same name"), errstr)`, ""},
		{"subject must be a string", `msys.pcre.match({}, "a")`, "string expected, got table"},
		{"pattern missing", `msys.pcre.match("a")`, "string expected, got nil"},
		{"catastrophic backtracking hits the match limit", `msys.pcre.match(string.rep("a", 40) .. "b", "^(a|a)+$")`, "pcre: match limit exceeded"},
		{"duplicate names take the group that matched", `
			local m = msys.pcre.match("b", "(?J)(?<n>a)|(?<n>b)")
			assert(m.n == "b" and m[1] == false and m[2] == "b")`, ""},
		{"replace global with refs", `
			assert(msys.pcre.replace("a1b2", "(\\d)", "<$1>") == "a<1>b<2>")
			assert(msys.pcre.replace("john smith", "(?P<f>\\w+) (?P<l>\\w+)", "${l}, ${f}") == "smith, john")
			assert(msys.pcre.replace("x", "x", "$$&$0") == "$&x")
			assert(msys.pcre.replace("abc", "x*", "-") == "-a-b-c-")
			assert(msys.pcre.replace("baaac", "a*", "-") == "-b--c-")`, ""},
		{"replace sample: strip code", `
			assert(msys.pcre.replace(" 550 bounce", "^\\s*" .. "550" .. "\\s?", "") == "bounce")`, ""},
		{"replace no match keeps subject", `assert(msys.pcre.replace("abc", "x", "y") == "abc")`, ""},
		{"replace keeps 8-bit bytes", `assert(msys.pcre.replace("\233t\233", "t", "T") == "\233T\233")`, ""},
		{"replace unmatched group is empty", `assert(msys.pcre.replace("ac", "a(b)?c", "[$1]") == "[]")`, ""},
		{"replace bad pattern raises", `msys.pcre.replace("a", "(", "x")`, "missing closing"},
		{"replace bad group name raises", `msys.pcre.replace("a", "a", "${nope}")`, `no group named "nope"`},
		{"split", `
			local p = msys.pcre.split("user@example.com", "@")
			assert(#p == 2 and p[1] == "user" and p[2] == "example.com")
			local l = msys.pcre.split("a\nb\n", "\\n")
			assert(#l == 2 and l[2] == "b")
			local c = msys.pcre.split("abc", "")
			assert(#c == 3 and c[3] == "c")
			local e = msys.pcre.split(",a,,b", ",")
			assert(#e == 4 and e[1] == "" and e[3] == "")
			local a = msys.pcre.split("baac", "a*")
			assert(#a == 2 and a[1] == "b" and a[2] == "c")`, ""},
		{"split bad pattern returns errstr", `
			local p, errstr, errnum = msys.pcre.split("a", "[a")
			assert(p == nil and errstr:find("missing terminating %]") and errnum > 0, errstr)`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			luatest.Check(t, luatest.NewState(t, lib), tc.code, tc.wantErr)
		})
	}
}

func TestCacheIsBounded(t *testing.T) {
	e := NewEngine(Options{CacheSize: 3})
	for _, p := range []string{"a", "b", "c", "d", "(", "a"} {
		_, _ = e.compile(p)
	}
	if n := e.cache.Len(); n != 3 {
		t.Fatalf("cache holds %d patterns, want 3", n)
	}
	if _, ok := e.cache.Get("b"); ok {
		t.Fatal("least recently used pattern was not evicted")
	}
}

func TestEngineConcurrent(t *testing.T) {
	e := NewEngine(Options{CacheSize: 4})
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func(i int) {
			var err error
			for j := 0; j < 200 && err == nil; j++ {
				var g *Groups
				g, err = e.Match("key=value", string(rune('a'+(i+j)%6))+"?(\\w+)=(\\w+)")
				if err == nil && (g == nil || g.Text[2] != "value") {
					err = errMismatch
				}
			}
			done <- err
		}(i)
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

var errMismatch = &CompileError{Msg: "unexpected match result"}

func TestReplaceReportsChange(t *testing.T) {
	e := NewEngine(Options{})
	out, changed, err := e.Replace("abc", "b", "X")
	if err != nil || !changed || out != "aXc" {
		t.Fatalf("Replace = %q, %v, %v", out, changed, err)
	}
	if _, changed, _ = e.Replace("abc", "z", "X"); changed {
		t.Fatal("Replace reported a change without a match")
	}
}

// TestLongSearchDeadline: a long search that would overrun the deadline
// is cut with ErrTimeout, and the same search finishes with a deadline it
// fits in, whether its rest runs in slices or in one call.
func TestLongSearchDeadline(t *testing.T) {
	subject := benchSubject(10 << 20)
	const pattern = `\b(\w+)\s+\1\b` // backtracks at every word: tens of ms over 10 MB
	cases := []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration // the callout's deadline, 0 for none
		oneCall time.Duration // 0 for the default
		wantErr error
	}{
		{"deadline too short", 2 * time.Millisecond, 0, 0, ErrTimeout},
		{"deadline long enough", time.Minute, 0, 0, nil},
		// The rest would fit in MatchTimeout, not in what the callout
		// has left: it must not be run in one call past the context.
		{"context deadline too short", time.Minute, 5 * time.Millisecond, time.Hour, ErrTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEngine(Options{MatchTimeout: tc.timeout})
			if tc.oneCall > 0 {
				e.oneCall = tc.oneCall
			}
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			g, err := e.MatchContext(ctx, subject, pattern)
			if err != tc.wantErr || g != nil {
				t.Fatalf("got %v, %v; want nil, %v", g, err, tc.wantErr)
			}
		})
	}
}
