package lpattern

import "strings"

// maxCaptures is LUA_MAXCAPTURES of Lua 5.1.
const maxCaptures = 32

// Capture lengths below zero mark special captures, as in lstrlib.c.
const (
	capUnfinished = -1
	capPosition   = -2
)

type capture struct {
	init int // start offset in the subject
	len  int // length, or capUnfinished / capPosition
}

// matcher is the state of one pattern-matching call (MatchState in
// lstrlib.c). Errors are recorded in err rather than unwinding, so every
// loop that calls match checks err before trying an alternative.
type matcher struct {
	src     string
	pat     string // pattern, cut at its first NUL byte like a C string
	level   int    // number of captures, finished or not
	capture [maxCaptures]capture
	steps   int64 // work left before the step budget is exhausted
	depth   int   // remaining recursion depth
	err     error
}

func newMatcher(src, pat string, lim Limits) *matcher {
	lim = lim.withDefaults()
	return &matcher{src: src, pat: cutNUL(pat), steps: lim.MaxSteps, depth: lim.MaxDepth}
}

// cutNUL truncates p at its first NUL, which is where lstrlib.c stops
// reading a pattern.
func cutNUL(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] == 0 {
			return p[:i]
		}
	}
	return p
}

func (m *matcher) fail(msg string) {
	if m.err == nil {
		m.err = &Error{Msg: msg}
	}
}

// spend charges n units of work to the step budget.
func (m *matcher) spend(n int64) bool {
	m.steps -= n
	if m.steps < 0 {
		m.fail(msgSteps)
		return false
	}
	return true
}

// match tries to match the pattern from p against the subject from s and
// returns the end of the match, or -1.
func (m *matcher) match(s, p int) int {
	if m.err != nil {
		return -1
	}
	if m.depth <= 0 {
		m.fail(msgRecursion)
		return -1
	}
	m.depth--
	r := m.doMatch(s, p)
	m.depth++
	return r
}

func (m *matcher) doMatch(s, p int) int {
	pat := m.pat
	for {
		if !m.spend(1) {
			return -1
		}
		if p >= len(pat) {
			return s
		}
		switch c := pat[p]; {
		case c == '(':
			if m.patAt(p+1) == ')' {
				return m.startCapture(s, p+2, capPosition)
			}
			return m.startCapture(s, p+1, capUnfinished)
		case c == ')':
			return m.endCapture(s, p+1)
		case c == '$' && p+1 == len(pat):
			if s == len(m.src) {
				return s
			}
			return -1
		case c == '%' && m.patAt(p+1) == 'b':
			s = m.matchBalance(s, p+2)
			if s < 0 {
				return -1
			}
			p += 4
			continue
		case c == '%' && m.patAt(p+1) == 'f':
			p += 2
			if m.patAt(p) != '[' {
				m.fail("missing '[' after '%f' in pattern")
				return -1
			}
			ep := m.classEnd(p)
			if ep < 0 {
				return -1
			}
			var prev, cur byte
			if s > 0 {
				prev = m.src[s-1]
			}
			if s < len(m.src) {
				cur = m.src[s]
			}
			if m.matchBracketClass(prev, p, ep-1) || !m.matchBracketClass(cur, p, ep-1) {
				return -1
			}
			p = ep
			continue
		case c == '%' && isDigit(m.patAt(p+1)):
			s = m.matchCapture(s, m.pat[p+1])
			if s < 0 {
				return -1
			}
			p += 2
			continue
		}
		ep := m.classEnd(p)
		if ep < 0 {
			return -1
		}
		ok := s < len(m.src) && m.singleMatch(m.src[s], p, ep)
		switch m.patAt(ep) {
		case '?':
			if ok {
				if r := m.match(s+1, ep+1); r >= 0 || m.err != nil {
					return r
				}
			}
			p = ep + 1
			continue
		case '*':
			return m.maxExpand(s, p, ep)
		case '+':
			if !ok {
				return -1
			}
			return m.maxExpand(s+1, p, ep)
		case '-':
			return m.minExpand(s, p, ep)
		}
		if !ok {
			return -1
		}
		s++
		p = ep
	}
}

func (m *matcher) maxExpand(s, p, ep int) int {
	i := 0
	for s+i < len(m.src) && m.singleMatch(m.src[s+i], p, ep) {
		i++
	}
	if !m.spend(int64(i)) {
		return -1
	}
	for ; i >= 0; i-- {
		if r := m.match(s+i, ep+1); r >= 0 || m.err != nil {
			return r
		}
	}
	return -1
}

func (m *matcher) minExpand(s, p, ep int) int {
	for {
		if r := m.match(s, ep+1); r >= 0 || m.err != nil {
			return r
		}
		if s < len(m.src) && m.singleMatch(m.src[s], p, ep) {
			s++
		} else {
			return -1
		}
	}
}

func (m *matcher) startCapture(s, p, what int) int {
	if m.level >= maxCaptures {
		m.fail("too many captures")
		return -1
	}
	m.capture[m.level] = capture{init: s, len: what}
	m.level++
	r := m.match(s, p)
	if r < 0 {
		m.level--
	}
	return r
}

func (m *matcher) endCapture(s, p int) int {
	l := -1
	for i := m.level - 1; i >= 0; i-- {
		if m.capture[i].len == capUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		m.fail("invalid pattern capture")
		return -1
	}
	m.capture[l].len = s - m.capture[l].init
	r := m.match(s, p)
	if r < 0 {
		m.capture[l].len = capUnfinished
	}
	return r
}

func (m *matcher) matchBalance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.fail("unbalanced pattern")
		return -1
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	b, e := m.pat[p], m.pat[p+1]
	cont := 1
	for i := s + 1; i < len(m.src); i++ {
		switch m.src[i] {
		case e:
			if cont--; cont == 0 {
				m.spend(int64(i - s))
				return i + 1
			}
		case b:
			cont++
		}
	}
	m.spend(int64(len(m.src) - s))
	return -1
}

// matchCapture matches a back-reference %1-%9 at s.
func (m *matcher) matchCapture(s int, digit byte) int {
	l := int(digit) - '1'
	if l < 0 || l >= m.level || m.capture[l].len == capUnfinished {
		m.fail("invalid capture index")
		return -1
	}
	c := m.capture[l]
	// A position capture has a negative length; lstrlib.c compares it as
	// a huge unsigned length, so it never matches.
	if c.len < 0 || len(m.src)-s < c.len {
		return -1
	}
	if m.src[c.init:c.init+c.len] == m.src[s:s+c.len] {
		m.spend(int64(c.len))
		return s + c.len
	}
	return -1
}

// firstByte reports the byte every match of the pattern from p must start
// with, when the pattern begins with a plain mandatory byte. Searches use
// it to skip positions where a match cannot start, which changes nothing
// but speed.
func (m *matcher) firstByte(p int) (byte, bool) {
	if p >= len(m.pat) {
		return 0, false
	}
	switch c := m.pat[p]; c {
	case '(', ')', '%', '[', '.', '$':
		return 0, false
	default:
		switch m.patAt(p + 1) {
		case '*', '?', '-':
			return 0, false
		}
		return c, true
	}
}

// skipTo returns the first offset from s holding c, or -1.
func (m *matcher) skipTo(s int, c byte) int {
	i := strings.IndexByte(m.src[s:], c)
	if i < 0 {
		return -1
	}
	return s + i
}

// find runs the unanchored search loop shared by find and match,
// starting at offset init. It returns the match bounds or -1.
func (m *matcher) find(init int) (start, end int) {
	p := 0
	anchor := m.patAt(0) == '^'
	if anchor {
		p = 1
	}
	first, skip := m.firstByte(p)
	skip = skip && !anchor
	for s1 := init; ; s1++ {
		if skip {
			if s1 = m.skipTo(s1, first); s1 < 0 {
				return -1, -1
			}
		}
		m.level = 0
		if e := m.match(s1, p); e >= 0 {
			return s1, e
		}
		if m.err != nil || anchor || s1 >= len(m.src) {
			return -1, -1
		}
	}
}
