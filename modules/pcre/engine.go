package pcre

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/dlclark/regexp2/syntax"
)

// ErrTimeout is returned when a match runs longer than Options.MatchTimeout.
var ErrTimeout = errors.New("pcre: match timed out")

// Defaults for Options fields left zero.
const (
	DefaultMatchTimeout = time.Second
	DefaultCacheSize    = 1024
)

// Options configure an Engine. Zero values select the defaults.
type Options struct {
	// MatchTimeout bounds one match (or one step of a global replace/split).
	MatchTimeout time.Duration
	// CacheSize is the number of compiled patterns kept.
	CacheSize int
}

// Engine compiles and caches patterns. It is safe for concurrent use; one
// Engine is meant to be shared by all Lua states of a process.
type Engine struct {
	timeout time.Duration
	cache   *patternCache
	// subjects recycles the rune form of subjects (*[]rune): a message
	// body is converted for every match, and at four bytes a rune that
	// buffer is by far the largest allocation of a match.
	subjects sync.Pool
}

// maxPooledRunes bounds the subject buffers kept for reuse, so that one
// huge body does not stay pinned in the pool.
const maxPooledRunes = 1 << 20

// subject returns the rune form of s in a recycled buffer; pass the
// buffer to release once nothing refers to its runes any more.
func (e *Engine) subject(s string) *[]rune {
	buf, _ := e.subjects.Get().(*[]rune)
	if buf == nil {
		buf = new([]rune)
	}
	*buf = appendRunes((*buf)[:0], s)
	return buf
}

func (e *Engine) release(buf *[]rune) {
	if cap(*buf) <= maxPooledRunes {
		e.subjects.Put(buf)
	}
}

// compiled is a cached pattern: the regexp2 program and PCRE group names.
type compiled struct {
	re    *regexp2.Regexp
	names []string
}

// CompileError reports a pattern that does not compile.
type CompileError struct {
	Pattern string
	Code    int // the errnum given to Lua, always > 0
	Msg     string
}

// Error describes the pattern that did not compile.
func (e *CompileError) Error() string {
	return fmt.Sprintf("pcre: compile %q: %s", e.Pattern, e.Msg)
}

// NewEngine returns an Engine with its own pattern cache.
func NewEngine(opts Options) *Engine {
	if opts.MatchTimeout <= 0 {
		opts.MatchTimeout = DefaultMatchTimeout
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	return &Engine{timeout: opts.MatchTimeout, cache: newPatternCache(opts.CacheSize)}
}

// Compile returns the cached program for pattern. The program matches the
// rune form produced by ToRunes; its group numbers follow regexp2 (.NET)
// rules for the rewritten pattern, which equal PCRE's because names are
// removed. The result is shared: callers must not change its MatchTimeout.
func (e *Engine) Compile(pattern string) (*regexp2.Regexp, error) {
	c, err := e.compile(pattern)
	if err != nil {
		return nil, err
	}
	return c.re, nil
}

func (e *Engine) compile(pattern string) (*compiled, error) {
	if ent, ok := e.cache.Get(pattern); ok {
		return ent.re, ent.err
	}
	c, err := e.build(pattern)
	e.cache.Put(pattern, cacheEntry{re: c, err: err})
	return c, err
}

func (e *Engine) build(pattern string) (c *compiled, err error) {
	// regexp2's parser is large and third-party; a pattern that trips it
	// must fail like any other bad pattern, not take the process down.
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, &CompileError{Pattern: pattern, Code: codeOther, Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	tr, err := translate(ToRunes(pattern))
	if err != nil {
		var pe *patternError
		if errors.As(err, &pe) {
			return nil, &CompileError{Pattern: pattern, Code: pe.code, Msg: pe.msg}
		}
		return nil, &CompileError{Pattern: pattern, Code: codeOther, Msg: err.Error()}
	}
	re, err := regexp2.Compile(tr.expr, regexp2.RE2)
	if err != nil {
		ce := &CompileError{Pattern: pattern, Code: codeOther, Msg: err.Error()}
		var se *syntax.Error
		if errors.As(err, &se) {
			ce.Code = syntaxCode(se.Code)
			ce.Msg = fmt.Sprintf(string(se.Code), se.Args...)
		}
		return nil, ce
	}
	re.MatchTimeout = e.timeout
	return &compiled{re: re, names: tr.names}, nil
}

// find runs one match from rune offset start; nil means no match. regexp2's
// only run-time error is a timeout, whose text quotes the whole subject,
// so it is replaced by ErrTimeout.
func (c *compiled) find(text []rune, start int) (*regexp2.Match, error) {
	m, err := c.re.FindRunesMatchStartingAt(text, start)
	if err != nil {
		return nil, ErrTimeout
	}
	return m, nil
}

func (c *compiled) next(m *regexp2.Match) (*regexp2.Match, error) {
	m, err := c.re.FindNextMatch(m)
	if err != nil {
		return nil, ErrTimeout
	}
	return m, nil
}

// Groups is one match: Groups[i] is the text of group i (0 = whole match)
// and Matched[i] tells whether that group took part.
type Groups struct {
	Text    []string
	Matched []bool
	Names   []string // Names[i] is group i's name or ""
}

// Match finds the first match of pattern in subject; nil means no match.
func (e *Engine) Match(subject, pattern string) (*Groups, error) {
	c, err := e.compile(pattern)
	if err != nil {
		return nil, err
	}
	buf := e.subject(subject)
	defer e.release(buf)
	m, err := c.find(*buf, 0)
	if err != nil || m == nil {
		return nil, err
	}
	groups := m.Groups()
	g := &Groups{Text: make([]string, len(groups)), Matched: make([]bool, len(groups)), Names: c.names}
	for i, grp := range groups {
		g.Text[i] = FromRunes(grp.Runes())
		g.Matched[i] = len(grp.Captures) > 0
	}
	return g, nil
}
