package txn

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// literalRegex is a Regex that replaces a literal string, enough to drive
// text_replace without a regular expression engine.
type literalRegex struct{}

func (literalRegex) MatchTable(_ *lua.LState, _, _ string) (lua.LValue, error) { return lua.LNil, nil }

func (literalRegex) ReplaceContext(_ context.Context, subject, pattern, repl string) (string, bool, error) {
	if !strings.Contains(subject, pattern) {
		return subject, false, nil
	}
	return strings.ReplaceAll(subject, pattern, repl), true, nil
}

// textPart builds an unlinked text part with the given body.
func textPart(cte, charset, body string) *Part {
	ct := "text/plain"
	if charset != "" {
		ct += "; charset=" + charset
	}
	p := &Part{BodyStart: -1, BodyEnd: -1, Body: body,
		Headers: []Field{{Name: "Content-Type", Value: " " + ct, Orig: -1}}}
	if cte != "" {
		p.Headers = append(p.Headers, Field{Name: "Content-Transfer-Encoding", Value: " " + cte, Orig: -1})
	}
	return p
}

// checkRoundTrip asserts the text_replace properties on a copy of p's
// body: edits that change nothing leave it identical, and a real edit
// ("e" to "E") keeps every span it did not change byte for byte, in
// order, or is refused with an error naming the part and no change.
func checkRoundTrip(t *testing.T, p *Part) {
	t.Helper()
	ctx := context.Background()
	orig := p.Body
	for _, e := range [][2]string{{"\x00absent\x00", "x"}, {"e", "e"}} {
		if _, err := p.ReplaceText(ctx, literalRegex{}, e[0], e[1]); err != nil {
			t.Fatalf("no-op %q: %v", e, err)
		}
		if p.Body != orig || p.edited {
			t.Fatalf("no-op %q changed the body:\n%q\nto\n%q", e, orig, p.Body)
		}
	}
	p.Text()
	spans := p.spans()
	changed, err := p.ReplaceText(ctx, literalRegex{}, "e", "E")
	if err != nil {
		if p.Body != orig || !strings.Contains(err.Error(), p.Name()) {
			t.Fatalf("refused edit: %v, body %q", err, p.Body)
		}
		return
	}
	if !changed {
		if p.Body != orig {
			t.Fatalf("unmatched edit changed the body")
		}
		return
	}
	// Spans holding no "e" in their text are untouched by the edit: those
	// before the first edited span are the new body's start, those after
	// the last its end, and those between are found in order between.
	first, last := -1, -1
	for i, s := range spans {
		if s.hasText("e") {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		t.Fatalf("edit changed spans without an \"e\" in their text")
	}
	var prefix, suffix strings.Builder
	for _, s := range spans[:first] {
		prefix.WriteString(s.Raw)
	}
	for _, s := range spans[last+1:] {
		suffix.WriteString(s.Raw)
	}
	out := p.Body
	if len(out) < prefix.Len()+suffix.Len() || !strings.HasPrefix(out, prefix.String()) || !strings.HasSuffix(out, suffix.String()) {
		t.Fatalf("edit changed bytes it did not decode: %q from %q", out, orig)
	}
	out = out[prefix.Len() : len(out)-suffix.Len()]
	for _, s := range spans[first:last] {
		if s.hasText("e") {
			continue
		}
		i := strings.Index(out, s.Raw)
		if i < 0 {
			t.Fatalf("span %q not kept in %q (from %q)", s.Raw, p.Body, orig)
		}
		out = out[i+len(s.Raw):]
	}
}

// hasText reports whether s has editable text containing sub.
func (s *textSpan) hasText(sub string) bool {
	for _, pc := range s.pieces {
		if pc.IsText && strings.Contains(pc.Text, sub) {
			return true
		}
	}
	return false
}

// malformedSamples are text part bodies that do not decode cleanly.
var malformedSamples = []struct{ Name, CTE, Charset, Body string }{
	{"qp bare CR before soft break", "quoted-printable", "utf-8", "Click to l=\r\r\nogin here\r\nand there\r\n"},
	{"qp bare LF", "quoted-printable", "utf-8", "line one\nline=20two\r\nthree\r\n"},
	{"qp bare CR mid-line", "quoted-printable", "utf-8", "see\rthe end\r\nmore text\r\n"},
	{"qp = before non-hex", "quoted-printable", "utf-8", "price =ZZ here\r\nnext line\r\n"},
	{"qp = before one char", "quoted-printable", "utf-8", "the end =A"},
	{"qp trailing =", "quoted-printable", "utf-8", "keep me\r\nthe end="},
	{"qp lower-case hex", "quoted-printable", "iso-8859-1", "caf=e9 here\r\n"},
	{"qp decoded bare CR", "quoted-printable", "utf-8", "one=0Dtwo the end\r\n"},
	{"qp soft break then malformed", "quoted-printable", "utf-8", "here we=\r\nsee =QQ text\r\nend\r\n"},
	{"base64 bad character", "base64", "utf-8", "aGVsbG8gd29ybGQK\r\nZW5k!!\r\nZW5kCg==\r\n"},
	{"base64 bad padding", "base64", "utf-8", "aGVsbG8gd29ybGQK\r\nZQ=\r\n"},
	{"base64 padding mid-body", "base64", "utf-8", "ZQ==\r\nZW5kCg==\r\n"},
	{"base64 missing tail", "base64", "utf-8", "aGVsbG8gd29ybGQK\r\nZW5"},
	{"base64 nothing decodes", "base64", "utf-8", "!!!!\r\n"},
	{"invalid utf-8", "8bit", "utf-8", "good line here\r\nbad \xff\xfe line e\r\nend here\r\n"},
	{"invalid utf-8 in qp", "quoted-printable", "utf-8", "the =FF=FE here\r\nthe rest\r\n"},
	{"8-bit in us-ascii", "7bit", "us-ascii", "caf\xe9 here\r\nthe end\r\n"},
	{"invalid shift_jis", "8bit", "shift_jis", "ok line e\r\nbad \x81 line e\r\n"},
	{"unknown charset no match", "quoted-printable", "x-unknown", "nothing to see"},
	{"unknown transfer encoding", "x-uuencode", "utf-8", "begin 644 e\r\n`\r\nend\r\n"},
	{"empty", "quoted-printable", "utf-8", ""},
}

// TestTextRoundTripMalformed checks the round-trip properties on each
// malformed sample.
func TestTextRoundTripMalformed(t *testing.T) {
	for _, tc := range malformedSamples {
		t.Run(tc.Name, func(t *testing.T) {
			checkRoundTrip(t, textPart(tc.CTE, tc.Charset, tc.Body))
		})
	}
}

// TestTextEditMalformed pins what a real edit writes for some samples.
func TestTextEditMalformed(t *testing.T) {
	cases := []struct{ Name, CTE, Charset, Body, From, to, want string }{
		{"qp bare CR keeps the rest", "quoted-printable", "utf-8",
			"please verify\r\nClick to l=\r\r\nogin now\r\n", "verify", "check",
			"please check\r\nClick to l=\r\r\nogin now\r\n"},
		{"qp edit after the bad line", "quoted-printable", "utf-8",
			"a =ZZ b\r\nverify\r\n", "verify", "check", "a =ZZ b\r\ncheck\r\n"},
		{"qp soft break before bad line stays joined", "quoted-printable", "utf-8",
			"verify=\r\n =ZZ\r\n", "verify", "check", "check=\r\n =ZZ\r\n"},
		{"qp decoded CR stays encoded", "quoted-printable", "utf-8",
			"verify=0Dx\r\n", "verify", "check", "check=0Dx\r\n"},
		{"base64 tail kept", "base64", "utf-8",
			"dmVyaWZ5Cg==\r\nZW5", "verify", "check", "Y2hlY2sK\r\nZW5"},
		{"invalid utf-8 line kept", "8bit", "utf-8",
			"verify\r\nbad \xff verify\r\n", "verify", "check", "check\r\nbad \xff verify\r\n"},
		{"latin-1 needs utf-8", "quoted-printable", "iso-8859-1",
			"caf=E9 verify\r\n", "verify", "\u2713", "caf=C3=A9 =E2=9C=93\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			p := textPart(tc.CTE, tc.Charset, tc.Body)
			ok, err := p.ReplaceText(context.Background(), literalRegex{}, tc.From, tc.to)
			if err != nil || !ok {
				t.Fatalf("replace: %v %v", ok, err)
			}
			if p.Body != tc.want {
				t.Fatalf("body %q\nwant %q", p.Body, tc.want)
			}
		})
	}
}

// TestTextEditRefused: an edit that can't be written without losing
// bytes is refused with an error naming the part.
func TestTextEditRefused(t *testing.T) {
	cases := []struct{ Name, CTE, Charset, Body, to, want string }{
		{"unknown charset", "quoted-printable", "x-unknown", "verify\r\n", "check", `charset "x-unknown" is unknown`},
		{"charset too small beside undecoded bytes", "quoted-printable", "us-ascii", "verify\r\n=FF\r\n", "\u2713", "did not decode"},
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			p := textPart(tc.CTE, tc.Charset, tc.Body)
			_, err := p.ReplaceText(context.Background(), literalRegex{}, "verify", tc.to)
			if err == nil || !strings.Contains(err.Error(), "an unlinked part (text/plain)") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming the part and %q", err, tc.want)
			}
			if p.Body != tc.Body {
				t.Fatalf("refused edit changed the body to %q", p.Body)
			}
		})
	}
}

var (
	fuzzCTEs     = []string{"7bit", "8bit", "binary", "quoted-printable", "base64", "x-uuencode", ""}
	fuzzCharsets = []string{"utf-8", "us-ascii", "iso-8859-1", "windows-1252", "shift_jis", "iso-2022-jp", "utf-16le", "gb18030", "x-unknown", ""}
)

// FuzzTextRoundTrip edits text parts with a fuzzed body, transfer
// encoding and charset: no panic, a no-op edit keeps the body identical,
// and a real edit keeps every span it did not change byte for byte.
func FuzzTextRoundTrip(f *testing.F) {
	index := func(list []string, s string) uint8 {
		for i, v := range list {
			if v == s {
				return uint8(i)
			}
		}
		return 0
	}
	for _, s := range malformedSamples {
		f.Add(s.Body, index(fuzzCTEs, s.CTE), index(fuzzCharsets, s.Charset))
	}
	f.Fuzz(func(t *testing.T, body string, cte, cs uint8) {
		p := textPart(fuzzCTEs[int(cte)%len(fuzzCTEs)], fuzzCharsets[int(cs)%len(fuzzCharsets)], body)
		checkRoundTrip(t, p)
	})
}

// pythonEmailCorpus is CPython's email test corpus: real-world and
// deliberately malformed messages (Debian: libpython3.11-testsuite).
const pythonEmailCorpus = "/usr/lib/python3.11/test/test_email/data"

// TestTextRoundTripPythonCorpus checks the round-trip properties on every
// text part of CPython's email test corpus, with the CRLF line ends an
// MTA hands over.
func TestTextRoundTripPythonCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pythonEmailCorpus, "msg_*.txt"))
	if len(files) == 0 {
		if os.Getenv("LUAMILTER_NO_PYCORPUS") != "" {
			t.Skip("LUAMILTER_NO_PYCORPUS set")
		}
		t.Fatalf("no corpus in %s: run scripts/install-deps.sh (libpython3.11-testsuite), or set LUAMILTER_NO_PYCORPUS=1 to skip", pythonEmailCorpus)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			head, body, ok := strings.Cut(CRLF(string(b)), "\r\n\r\n")
			if !ok {
				t.Skip("no body")
			}
			tree := parsedTree(t, head, body)
			tree.Walk(func(p *Part) {
				if p.IsText() {
					checkRoundTrip(t, p)
				}
			})
		})
	}
}
