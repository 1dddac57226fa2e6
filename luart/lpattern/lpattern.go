// Package lpattern implements the pattern-matching functions of the Lua 5.1
// string library (find, match, gmatch, gsub and the gfind alias) with the
// exact semantics and error messages of lstrlib.c from Lua 5.1.5, working
// on bytes in the C locale.
//
// Unlike the reference it bounds the work one call may do: a step budget
// stops catastrophic backtracking, a depth limit replaces the C stack, and
// gsub output is capped in size. Exceeding a bound is reported as an
// ordinary Lua error.
package lpattern

import (
	"fmt"
	"strings"
)

// Default bounds used when a Limits field is zero.
const (
	DefaultMaxSteps  = 10_000_000
	DefaultMaxOutput = 64 << 20
	// DefaultMaxDepth matches LUAI_MAXCCALLS, the matcher depth bound
	// that later Lua versions apply. Only pattern items that can
	// backtrack (?, *, +, -, captures) nest; long subjects do not.
	DefaultMaxDepth = 200
)

// Error messages for exceeded bounds.
const (
	msgSteps     = "pattern too complex (step limit exceeded)"
	msgRecursion = "pattern too complex (recursion)"
)

// Limits bounds the work of one call. Zero fields take the defaults.
type Limits struct {
	// MaxSteps is the matching work allowed per call of find, match or
	// gsub, and per iteration of a gmatch iterator.
	MaxSteps int64
	// MaxOutput is the largest result gsub may build, in bytes.
	MaxOutput int
	// MaxDepth bounds the nesting of backtracking pattern items.
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Error is a pattern error; Msg is the text Lua 5.1 raises for it, such
// as "malformed pattern (ends with '%')".
type Error struct {
	Msg string
}

// Error returns the message as Lua 5.1 words it.
func (e *Error) Error() string { return e.Msg }

// Capture is one value captured by a pattern.
type Capture struct {
	// Text is the captured substring (empty for a position capture).
	Text string
	// Pos is the 1-based subject position recorded by a position capture
	// "()", and 0 for a substring capture.
	Pos int
}

// IsPosition reports whether c came from a position capture "()".
func (c Capture) IsPosition() bool { return c.Pos > 0 }

// captureAt returns capture i of the last match [s, e), following
// push_onecapture: index 0 of a capture-less pattern is the whole match.
func (m *matcher) captureAt(i, s, e int) (Capture, error) {
	if i >= m.level {
		if i == 0 {
			return Capture{Text: m.src[s:e]}, nil
		}
		return Capture{}, &Error{Msg: "invalid capture index"}
	}
	c := m.capture[i]
	switch c.len {
	case capUnfinished:
		return Capture{}, &Error{Msg: "unfinished capture"}
	case capPosition:
		return Capture{Pos: c.init + 1}, nil
	}
	return Capture{Text: m.src[c.init : c.init+c.len]}, nil
}

// captures returns all captures of the last match; with whole set, a
// pattern without captures yields the whole match (as match and gmatch
// do), otherwise nothing (as find does).
func (m *matcher) captures(s, e int, whole bool) ([]Capture, error) {
	n := m.level
	if n == 0 && whole {
		n = 1
	}
	if n == 0 {
		return nil, nil
	}
	caps := make([]Capture, n)
	for i := range caps {
		c, err := m.captureAt(i, s, e)
		if err != nil {
			return nil, err
		}
		caps[i] = c
	}
	return caps, nil
}

// startOffset converts a Lua init argument (1-based, negative counts from
// the end) into a subject offset clamped to [0, n], like str_find_aux.
func startOffset(init, n int) int {
	if init < 0 {
		init += n + 1
	}
	init--
	if init < 0 {
		return 0
	}
	if init > n {
		return n
	}
	return init
}

// specials are the bytes that make find use the matcher instead of a plain
// substring search.
const specials = "^$*+?.([%-"

// Find is string.find: it searches s for pattern from position init (Lua
// conventions) and returns the 1-based inclusive bounds of the match and
// its captures. start is 0 when nothing matches. With plain set, or when
// the pattern has no special characters, pattern is a literal substring.
func Find(s, pattern string, init int, plain bool, lim Limits) (start, end int, caps []Capture, err error) {
	off := startOffset(init, len(s))
	if plain || !strings.ContainsAny(cutNUL(pattern), specials) {
		i := indexFrom(s, pattern, off)
		if i < 0 {
			return 0, 0, nil, nil
		}
		return i + 1, i + len(pattern), nil, nil
	}
	m := newMatcher(s, pattern, lim)
	b, e := m.find(off)
	if m.err != nil {
		return 0, 0, nil, m.err
	}
	if b < 0 {
		return 0, 0, nil, nil
	}
	caps, err = m.captures(b, e, false)
	if err != nil {
		return 0, 0, nil, err
	}
	return b + 1, e, caps, nil
}

// Match is string.match: it returns the captures of the first match of
// pattern in s from position init, or the whole match when the pattern
// has no captures. ok is false when nothing matches.
func Match(s, pattern string, init int, lim Limits) (caps []Capture, ok bool, err error) {
	m := newMatcher(s, pattern, lim)
	b, e := m.find(startOffset(init, len(s)))
	if m.err != nil {
		return nil, false, m.err
	}
	if b < 0 {
		return nil, false, nil
	}
	caps, err = m.captures(b, e, true)
	if err != nil {
		return nil, false, err
	}
	return caps, true, nil
}

// indexFrom is lmemfind: the first occurrence of sub in s at or after off.
func indexFrom(s, sub string, off int) int {
	if len(sub) == 0 {
		return off
	}
	i := strings.Index(s[off:], sub)
	if i < 0 {
		return -1
	}
	return off + i
}

// errOutput reports a gsub result over the configured size.
func errOutput(limit int) error {
	return &Error{Msg: fmt.Sprintf("gsub result too large (limit %d bytes)", limit)}
}
