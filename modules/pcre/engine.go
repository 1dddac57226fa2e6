package pcre

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTimeout is returned when a search runs past Options.MatchTimeout or
// its context ends.
var ErrTimeout = errors.New("pcre: match timed out")

// Defaults for Options fields left zero. The match and depth limits are
// PCRE2's own; its heap limit (20 GB) is meant for a program, not for a
// daemon matching many messages at once, so it is lowered.
const (
	DefaultMatchTimeout = time.Second
	DefaultCacheSize    = 1024
	DefaultMatchLimit   = defaultMatchLimit
	DefaultDepthLimit   = defaultDepthLimit
	DefaultHeapLimitKiB = defaultHeapLimitKiB
)

// Options configure an Engine. Zero values select the defaults.
type Options struct {
	// MatchTimeout bounds one call: a match, or a whole global replace
	// or split.
	MatchTimeout time.Duration
	// CacheSize is the number of compiled patterns kept.
	CacheSize int
	// MatchLimit, DepthLimit and HeapLimitKiB are PCRE2's match limit
	// (backtracking steps from one start position), depth limit (nesting
	// of backtracking) and heap limit (KiB of backtracking frames) for
	// every match.
	MatchLimit   uint32
	DepthLimit   uint32
	HeapLimitKiB uint32
	// NoJIT matches with PCRE2's interpreter only.
	NoJIT bool
}

// Engine compiles and caches patterns. It is safe for concurrent use; one
// Engine is meant to be shared by all Lua states of a process.
type Engine struct {
	opts  Options
	cache *patternCache
	// sliceAbove is the subject length above which searches run in
	// slices, slice0 the first slice size; tests lower both so that
	// short subjects are searched in slices too.
	sliceAbove, slice0 int
	// oneCall is oneCallRest; tests that check slicing set it to 0.
	oneCall time.Duration
	// last is the pattern compile returned last.
	last atomic.Pointer[compiled]
	// matchers are reused: a search on a short subject costs less than
	// allocating the offset vector the C side writes into.
	matchers sync.Pool
}

// NewEngine returns an Engine with its own pattern cache.
func NewEngine(opts Options) *Engine {
	if opts.MatchTimeout <= 0 {
		opts.MatchTimeout = DefaultMatchTimeout
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.MatchLimit == 0 {
		opts.MatchLimit = DefaultMatchLimit
	}
	if opts.DepthLimit == 0 {
		opts.DepthLimit = DefaultDepthLimit
	}
	if opts.HeapLimitKiB == 0 {
		opts.HeapLimitKiB = DefaultHeapLimitKiB
	}
	return &Engine{opts: opts, cache: newPatternCache(opts.CacheSize), sliceAbove: sliceAbove, slice0: firstSlice, oneCall: oneCallRest}
}

// CompileError reports a pattern that does not compile.
type CompileError struct {
	Pattern string
	Code    int    // PCRE2's compile error number, the errnum given to Lua
	Offset  int    // where in the pattern PCRE2 found the error
	Msg     string // PCRE2's message
}

// Error describes the pattern that did not compile.
func (e *CompileError) Error() string {
	return fmt.Sprintf("pcre: compile %q: %s at offset %d", e.Pattern, e.Msg, e.Offset)
}

// MatchError is a match PCRE2 gave up, typically because it reached the
// match, depth or heap limit.
type MatchError struct {
	Code int // PCRE2's (negative) error code
	Msg  string
}

// Error is PCRE2's message, such as "pcre: match limit exceeded".
func (e *MatchError) Error() string { return "pcre: " + e.Msg }

// compiled is a cached pattern.
type compiled struct {
	code *code
	*codeInfo
	pattern string
	// limited is the pattern compiled again with PCRE2_USE_OFFSET_LIMIT,
	// made on the first search that needs slices: PCRE2's JIT makes
	// slower code for it (measured 1.3 to 3 times), so searches that run
	// in one call use code.
	limitedOnce sync.Once
	limited     *code
	// sliced tells that an unanchored search may run as a series of
	// pcre2_match calls, each limited to a slice of start positions
	// (PCRE2's offset limit), with the deadline checked in between. That
	// gives the same answer as one call except for what depends on where
	// a call starts or on giving up the whole search: \G, (*COMMIT) and
	// (*SKIP), and the CRLF bumpalong rule of (*CRLF), (*ANY) and
	// (*ANYCRLF). Patterns that may contain those run in one call.
	sliced bool
	// crlf: the newline convention includes CRLF, so advancing past an
	// empty match skips a CRLF pair as one character.
	crlf  bool
	utf   bool
	noJIT bool
}

// limitedCode returns the offset-limit version of the pattern, or nil if
// it could not be made.
func (c *compiled) limitedCode() *code {
	c.limitedOnce.Do(func() {
		c.limited, _, _, _ = compileCode(pcre1Verbs(c.pattern), optUseOffsetLimit, !c.noJIT)
	})
	return c.limited
}

func (e *Engine) compile(pattern string) (*compiled, error) {
	// A policy mostly runs one pattern again and again (each message,
	// each line): the last one compiled is checked before the cache's
	// lock, which costs as much as a short search.
	if last := e.last.Load(); last != nil && last.pattern == pattern {
		return last, nil
	}
	if ent, ok := e.cache.Get(pattern); ok {
		if ent.re != nil {
			e.last.Store(ent.re)
		}
		return ent.re, ent.err
	}
	c, err := e.build(pattern)
	e.cache.Put(pattern, cacheEntry{re: c, err: err})
	if c != nil {
		e.last.Store(c)
	}
	return c, err
}

func (e *Engine) build(pattern string) (*compiled, error) {
	code, info, ec, off := compileCode(pcre1Verbs(pattern), 0, !e.opts.NoJIT)
	if code == nil {
		return nil, &CompileError{Pattern: pattern, Code: ec, Offset: off, Msg: errorMessage(ec)}
	}
	c := &compiled{code: code, codeInfo: info, pattern: pattern, noJIT: e.opts.NoJIT}
	c.utf = info.options&optionUTF != 0
	c.crlf = info.newline == newlineCRLF || info.newline == newlineAny || info.newline == newlineAnyCRLF
	c.sliced = info.options&optAnchored == 0 && !c.crlf &&
		!strings.Contains(pattern, `\G`) && !strings.Contains(pattern, "(*COMMIT") &&
		!strings.Contains(pattern, "(*SKIP")
	return c, nil
}

// pcre1Verbs spells PCRE1's (*UTF8) start-of-pattern setting, which
// Momentum's PCRE accepts, as PCRE2's (*UTF). Nothing else is rewritten.
func pcre1Verbs(p string) string {
	i := 0
	for strings.HasPrefix(p[i:], "(*") {
		end := strings.IndexByte(p[i:], ')')
		if end < 0 {
			break
		}
		if p[i:i+end+1] == "(*UTF8)" {
			return p[:i] + "(*UTF)" + p[i+end+1:]
		}
		i += end + 1
	}
	return p
}

// Slices, in start positions, for searches of long subjects. Subjects up
// to sliceAbove bytes are searched in one call; above, the first slice is
// firstSlice positions and later ones grow while a call returns quickly
// and shrink when it does not, so the deadline is checked at least every
// few milliseconds of ordinary matching.
const (
	sliceAbove = 1 << 20
	firstSlice = 1 << 18
	minSlice   = 16
	maxSlice   = 1 << 26
	fastSlice  = time.Millisecond
	slowSlice  = 10 * time.Millisecond
	// oneCallRest is the most the rest of a long search may be expected
	// to take for it to be finished in one call (see search.exec).
	oneCallRest = 50 * time.Millisecond
)

// search is one call's use of a pattern on a subject: it owns the C match
// state, and exec runs PCRE2 from a given offset.
type search struct {
	e        *Engine
	c        *compiled
	m        *matcher
	subject  string
	ctx      context.Context
	deadline time.Time
	slice    int
	rc       int // result of the last successful exec
}

// begin starts a search of subject for c; end must be called once the
// search's offsets have been read.
// The search is the caller's, so that a short search allocates nothing.
func (e *Engine) begin(s *search, ctx context.Context, c *compiled, subject string) {
	m, _ := e.matchers.Get().(*matcher)
	if m == nil {
		m = &matcher{}
	}
	m.reset(c.groups, e.opts.MatchLimit, e.opts.DepthLimit, e.opts.HeapLimitKiB)
	if ctx == nil {
		ctx = context.Background()
	}
	*s = search{e: e, c: c, m: m, subject: subject, ctx: ctx, slice: e.slice0}
}

// end gives the search's matcher back for reuse.
func (s *search) end() {
	s.e.matchers.Put(s.m)
	s.m = nil
}

// start fixes the deadline. It is taken when a search first needs it (a
// slice or a global search starts), not for every match: most searches
// are one short call and never look at the clock.
func (s *search) start(now time.Time) {
	if s.deadline.IsZero() {
		s.deadline = now.Add(s.e.opts.MatchTimeout)
	}
}

// expired reports ErrTimeout once the deadline has passed or the context
// has ended.
func (s *search) expired() error {
	now := time.Now()
	s.start(now)
	if s.ctx.Err() != nil || !now.Before(s.deadline) {
		return ErrTimeout
	}
	return nil
}

// exec looks for the next match from start. It reports false when there
// is none; after true, group gives the offsets.
func (s *search) exec(start int, opts uint32) (bool, error) {
	n := len(s.subject)
	var lc *code
	if s.c.sliced && opts&optAnchored == 0 && n-start > s.e.sliceAbove {
		lc = s.c.limitedCode()
	}
	if lc == nil {
		return s.result(s.m.exec(s.c.code, s.subject, start, opts, -1))
	}
	for {
		limit := start + s.slice
		if limit >= n {
			limit = -1
		}
		t0 := time.Now()
		s.start(t0)
		rc := s.m.exec(lc, s.subject, start, opts, limit)
		if rc != errNoMatch || limit < 0 {
			return s.result(rc)
		}
		if err := s.expired(); err != nil {
			return false, err
		}
		d := time.Since(t0)
		switch {
		case d < fastSlice:
			s.slice = min(s.slice*4, maxSlice)
		case d > slowSlice:
			s.slice = max(s.slice/16, minSlice)
		}
		// The next call starts where PCRE2's own bumpalong would have
		// gone: the next byte, or in UTF mode the next character.
		slice := limit - start + 1
		start = limit + 1
		for s.c.utf && start < n && s.subject[start]&0xC0 == 0x80 {
			start++
		}
		opts &^= optNotEmptyAtStart
		// When the rest would take little time at the speed seen so far,
		// it is searched in one call with the code compiled without an
		// offset limit, which the JIT runs up to twice as fast. Only a
		// pattern that turns costly further on can then overrun the
		// deadline, and PCRE2's match limit still bounds that call.
		if rest := time.Duration(float64(d) * float64(n-start) / float64(slice)); rest < s.e.oneCall && rest < s.left()/4 {
			return s.result(s.m.exec(s.c.code, s.subject, start, opts, -1))
		}
	}
}

// left is the time until the search must end: its deadline or, when
// sooner, its context's (the callout's).
func (s *search) left() time.Duration {
	left := time.Until(s.deadline)
	if d, ok := s.ctx.Deadline(); ok {
		left = min(left, time.Until(d))
	}
	return left
}

func (s *search) result(rc int) (bool, error) {
	switch {
	case rc > 0:
		s.rc = rc
		return true, nil
	case rc == errNoMatch:
		return false, nil
	}
	return false, &MatchError{Code: rc, Msg: errorMessage(rc)}
}

// group returns group i's offsets in the last match, false when it did
// not take part.
func (s *search) group(i int) (int, int, bool) { return s.m.pair(i, s.rc) }

// Groups is one match: Text[i] is the text of group i (0 = whole match)
// and Matched[i] tells whether that group took part. The texts are
// substrings of the subject, not copies.
type Groups struct {
	Text    []string
	Matched []bool
	Names   []string // Names[i] is group i's name or ""
}

// Match finds the first match of pattern in subject; nil means no match.
func (e *Engine) Match(subject, pattern string) (*Groups, error) {
	return e.MatchContext(context.Background(), subject, pattern)
}

// MatchContext is Match that also gives up, with ErrTimeout, when ctx
// ends.
func (e *Engine) MatchContext(ctx context.Context, subject, pattern string) (*Groups, error) {
	c, ov, err := e.find(ctx, subject, pattern)
	if err != nil || ov == nil {
		return nil, err
	}
	g := &Groups{Text: make([]string, c.groups+1), Matched: make([]bool, c.groups+1), Names: c.names}
	for i := range g.Text {
		if a := ov[2*i]; a >= 0 {
			g.Text[i], g.Matched[i] = subject[a:ov[2*i+1]], true
		}
	}
	return g, nil
}

// find returns the offsets of the first match, a start and an end for
// each group with -1 for a group that did not take part, or nil.
func (e *Engine) find(ctx context.Context, subject, pattern string) (*compiled, []int, error) {
	c, err := e.compile(pattern)
	if err != nil {
		return nil, nil, err
	}
	var s search
	e.begin(&s, ctx, c, subject)
	defer s.end()
	ok, err := s.exec(0, 0)
	if err != nil || !ok {
		return c, nil, err
	}
	ov := make([]int, 2*(c.groups+1))
	for i := 0; i <= c.groups; i++ {
		a, b, ok := s.group(i)
		if !ok {
			a, b = -1, -1
		}
		ov[2*i], ov[2*i+1] = a, b
	}
	return c, ov, nil
}
