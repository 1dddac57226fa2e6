package lpattern

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// testCase is one call of a pattern function, as the driver script runs it.
type testCase struct {
	Fn    string // find, match, gmatch or gsub
	S, P  string
	Init  *int
	Plain string // Lua literal for find's 4th argument, "" for none
	N     *int   // gsub's 4th argument
	Repl  string // Lua literal for a string or number replacement
	RF    int    // index of a driver function used as replacement
	RT    int    // index of a driver table used as replacement
}

// luaQuote renders s as a Lua 5.1 string literal, escaping every byte
// that is not printable ASCII with a three-digit decimal escape.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 32 && c < 127 && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (c testCase) lua() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{fn=%q, s=%s, p=%s", c.Fn, luaQuote(c.S), luaQuote(c.P))
	if c.Init != nil {
		fmt.Fprintf(&b, ", init=%d", *c.Init)
	}
	if c.Plain != "" {
		fmt.Fprintf(&b, ", plain=%s", c.Plain)
	}
	if c.N != nil {
		fmt.Fprintf(&b, ", n=%d", *c.N)
	}
	if c.Repl != "" {
		fmt.Fprintf(&b, ", repl=%s", c.Repl)
	}
	if c.RF != 0 {
		fmt.Fprintf(&b, ", rf=%d", c.RF)
	}
	if c.RT != 0 {
		fmt.Fprintf(&b, ", rt=%d", c.RT)
	}
	b.WriteString("}")
	return b.String()
}

// casesFile renders cases as a Lua chunk returning them. Cases are added
// by small functions because one Lua 5.1 function may hold only so many
// constants.
func casesFile(cases []testCase) string {
	var b strings.Builder
	b.WriteString("local t = {}\n")
	for i, c := range cases {
		if i%500 == 0 {
			if i > 0 {
				b.WriteString("end add() end\n")
			}
			b.WriteString("do local function add()\n")
		}
		b.WriteString("t[#t + 1] = ")
		b.WriteString(c.lua())
		b.WriteString("\n")
	}
	if len(cases) > 0 {
		b.WriteString("end add() end\n")
	}
	b.WriteString("return t\n")
	return b.String()
}

// gen produces random but reproducible cases.
type gen struct {
	r *rand.Rand
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))} }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

var (
	subjectBytes = []string{"a", "a", "a", "b", "b", "c", "A", "B", "1", "2", " ", "\t", "\n",
		"%", "[", "]", "(", ")", "-", "^", "$", ".", "*", "\x00", "\x80", "\xe9", "\xff", "_", "x"}
	literals = []string{"a", "a", "b", "c", "A", "1", " ", "x", "_", "%%", "%.", "%[", "%]",
		"%(", "%)", "%-", "%^", "%$", "%*", "\xe9", "\xff", "\x80", "]", "^", "$"}
	classes = []string{"%a", "%A", "%d", "%D", "%l", "%L", "%s", "%S", "%u", "%U", "%w", "%W",
		"%x", "%X", "%p", "%P", "%c", "%C", "%z", "%Z", "%g", "%G"}
	setParts = []string{"a", "b", "a-c", "A-Z", "0-9", "%a", "%d", "%s", "%S", "%%", "%]", "-",
		"^", "\x80-\xff", "\xe9", "(", "$", "c-a"}
	frontiers = []string{"%f[%a]", "%f[^%s]", "%f[%w_]", "%f[a-c]", "%f[%z]", "%f[%A]", "%f[]]"}
	balances  = []string{"%b()", "%b[]", "%bab", "%b((", "%b)("}
	malformed = []string{"%", "[", "[^", "(", ")", "%f", "%fa", "%b", "%ba", "%0", "%9", "[%",
		"[a-", "%1", "[]", "[^]", "(()", "%f[", "%b("}
	quants = []string{"*", "+", "-", "?"}
)

func (g *gen) subject() string {
	n := g.r.IntN(20)
	if g.chance(0.05) {
		n = 30 + g.r.IntN(30)
	}
	var b strings.Builder
	for range n {
		b.WriteString(g.pick(subjectBytes))
	}
	return b.String()
}

func (g *gen) set() string {
	var b strings.Builder
	b.WriteByte('[')
	if g.chance(0.3) {
		b.WriteByte('^')
	}
	for range 1 + g.r.IntN(3) {
		b.WriteString(g.pick(setParts))
	}
	b.WriteByte(']')
	return b.String()
}

func (g *gen) item(b *strings.Builder, depth int) {
	switch k := g.r.IntN(13); {
	case k < 4:
		b.WriteString(g.pick(literals))
	case k == 4:
		b.WriteByte('.')
	case k == 5:
		b.WriteString(g.pick(classes))
	case k == 6:
		b.WriteString(g.set())
	case k == 7 && depth < 3:
		b.WriteByte('(')
		g.seq(b, depth+1)
		b.WriteByte(')')
	case k == 8:
		b.WriteString("()")
	case k == 9 && g.chance(0.4):
		fmt.Fprintf(b, "%%%d", 1+g.r.IntN(3))
	case k == 10:
		b.WriteString(g.pick(balances))
	case k == 11:
		b.WriteString(g.pick(frontiers))
	default:
		b.WriteString(g.pick(literals))
	}
	if g.chance(0.35) {
		b.WriteString(g.pick(quants))
	}
}

func (g *gen) seq(b *strings.Builder, depth int) {
	for range g.r.IntN(4) + 1 - depth/2 {
		g.item(b, depth)
	}
}

func (g *gen) pattern() string {
	var b strings.Builder
	if g.chance(0.2) {
		b.WriteByte('^')
	}
	if !g.chance(0.05) {
		g.seq(&b, 0)
	}
	if g.chance(0.15) {
		b.WriteByte('$')
	}
	if g.chance(0.07) {
		b.WriteString(g.pick(malformed))
	}
	if g.chance(0.02) {
		b.WriteString("\x00" + g.pick(literals))
	}
	return b.String()
}

// derived builds a pattern from a piece of the subject, so that it often
// matches: bytes are kept, escaped, generalized to a class or quantified.
func (g *gen) derived(s string) string {
	if s == "" {
		return g.pattern()
	}
	i := g.r.IntN(len(s))
	j := i + g.r.IntN(len(s)-i+1)
	var b strings.Builder
	if g.chance(0.2) {
		b.WriteByte('^')
	}
	for k := i; k < j; k++ {
		c := s[k]
		switch r := g.r.IntN(10); {
		case r < 5:
			b.WriteByte(c)
		case r < 7:
			b.WriteByte('%')
			b.WriteByte(c)
		case r == 7:
			b.WriteByte('.')
		case r == 8:
			b.WriteString(g.pick(classes))
		default:
			b.WriteString("(" + string(c) + ")")
		}
		if g.chance(0.25) {
			b.WriteString(g.pick(quants))
		}
	}
	if g.chance(0.2) {
		b.WriteByte('$')
	}
	return b.String()
}

func (g *gen) intPtr(lo, hi int) *int {
	v := lo + g.r.IntN(hi-lo+1)
	return &v
}

func (g *gen) template() string {
	parts := []string{"x", "y", "-", "%0", "%1", "%2", "%3", "%%", "%x", "%a", "\xe9", "%"}
	var b strings.Builder
	for range g.r.IntN(4) {
		b.WriteString(g.pick(parts))
	}
	return b.String()
}

func (g *gen) testCase() testCase {
	c := testCase{S: g.subject(), P: g.pattern()}
	switch k := g.r.IntN(10); {
	case k < 2:
		c.P = g.subject() // often contains no special characters
	case k < 5:
		c.P = g.derived(c.S)
	}
	switch g.r.IntN(4) {
	case 0, 1:
		c.Fn = "find"
		if g.chance(0.3) {
			c.Plain = g.pick([]string{"true", "false", "1", "nil"})
		}
	case 2:
		c.Fn = "match"
	default:
		c.Fn = "gmatch"
		if g.chance(0.5) {
			c.Fn = "gsub"
		}
	}
	if c.Fn != "gmatch" && c.Fn != "gsub" && (g.chance(0.5) || c.Plain != "") {
		c.Init = g.intPtr(-8, 16)
	}
	if c.Fn == "gsub" {
		switch k := g.r.IntN(10); {
		case k < 5:
			c.Repl = luaQuote(g.template())
		case k < 8:
			c.RF = 1 + g.r.IntN(8)
		case k < 9:
			c.RT = 1 + g.r.IntN(3)
		default:
			c.Repl = g.pick([]string{"7", "1.5", "-0.25", "1e15"})
		}
		if g.chance(0.3) {
			c.N = g.intPtr(-1, 4)
		}
	}
	return c
}

// handCases are fixed corner cases checked against the reference too.
func handCases() []testCase {
	fn := func(f, s, p string) testCase { return testCase{Fn: f, S: s, P: p} }
	cs := []testCase{
		fn("find", "aaa", strings.Repeat("()", 32)),
		fn("find", "aaa", strings.Repeat("()", 33)),
		fn("match", "aaa", strings.Repeat("(a?)", 33)),
		fn("gmatch", "hello world from Lua", "%a+"),
		fn("gmatch", "abc", "^a"),
		fn("gmatch", "abc", ""),
		fn("gmatch", "k=v, k2=v2", "(%w+)=(%w+)"),
		fn("match", "THE (quick) fox", "%f[%a]%a+"),
		fn("match", "x(a(b)c)y", "%b()"),
		fn("match", "  x", "^%s*()"),
		fn("find", "a.b", "."),
		fn("match", "a\x00b", "%z"),
		fn("match", "abcabc", "(a)(b)(c)%1%2%3"),
		fn("match", "aaa", "()a%1"),
		fn("gsub", "hello world", "(o)"),
		fn("find", "a+b", "+"),
		fn("match", "a", "a)"),
		fn("gsub", "abc", ""),
	}
	cs[len(cs)-4].Repl = luaQuote("[%1]")
	cs[len(cs)-1].Repl = luaQuote("-")
	return cs
}
