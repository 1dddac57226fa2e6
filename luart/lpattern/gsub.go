package lpattern

import "strconv"

// output accumulates a gsub result and enforces Limits.MaxOutput.
type output struct {
	b   []byte
	max int
}

func (o *output) add(s string) error {
	if len(o.b)+len(s) > o.max {
		return errOutput(o.max)
	}
	o.b = append(o.b, s...)
	return nil
}

func (o *output) addByte(c byte) error {
	if len(o.b)+1 > o.max {
		return errOutput(o.max)
	}
	o.b = append(o.b, c)
	return nil
}

// replaceFunc appends the replacement for the match [s, e) whose captures
// are held by m.
type replaceFunc func(m *matcher, s, e int, out *output) error

// gsub is the loop of str_gsub. maxN < 0 means no limit on replacements.
func gsub(src, pattern string, maxN int, lim Limits, repl replaceFunc) (string, int, error) {
	lim = lim.withDefaults()
	m := newMatcher(src, pattern, lim)
	out := &output{max: lim.MaxOutput}
	p := 0
	anchor := m.patAt(0) == '^'
	if anchor {
		p = 1
	}
	s, n := 0, 0
	first, skip := m.firstByte(p)
	skip = skip && !anchor
loop:
	for maxN < 0 || n < maxN {
		if skip {
			next := m.skipTo(s, first)
			if next < 0 {
				break
			}
			if err := out.add(src[s:next]); err != nil {
				return "", 0, err
			}
			s = next
		}
		m.level = 0
		e := m.match(s, p)
		if m.err != nil {
			return "", 0, m.err
		}
		if e >= 0 {
			n++
			if err := repl(m, s, e, out); err != nil {
				return "", 0, err
			}
		}
		switch {
		case e > s:
			s = e
		case s < len(src):
			if err := out.addByte(src[s]); err != nil {
				return "", 0, err
			}
			s++
		default:
			break loop
		}
		if anchor {
			break
		}
	}
	if err := out.add(src[s:]); err != nil {
		return "", 0, err
	}
	return string(out.b), n, nil
}

// addTemplate appends a replacement string, expanding %0-%9 as add_s does.
// A '%' before any non-digit yields that byte; a trailing '%' yields the
// NUL that terminates the C string in the reference.
func addTemplate(m *matcher, s, e int, repl string, out *output) error {
	for i := 0; i < len(repl); i++ {
		if repl[i] != '%' {
			// Copy the run up to the next '%' in one append.
			j := i + 1
			for j < len(repl) && repl[j] != '%' {
				j++
			}
			if err := out.add(repl[i:j]); err != nil {
				return err
			}
			i = j - 1
			continue
		}
		i++
		var d byte
		if i < len(repl) {
			d = repl[i]
		}
		var err error
		switch {
		case !isDigit(d):
			err = out.addByte(d)
		case d == '0':
			err = out.add(m.src[s:e])
		default:
			var c Capture
			if c, err = m.captureAt(int(d-'1'), s, e); err == nil {
				err = out.add(c.String())
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// String returns the text of a substring capture, or the decimal position
// of a position capture, as Lua converts it when concatenating.
func (c Capture) String() string {
	if c.IsPosition() {
		return strconv.Itoa(c.Pos)
	}
	return c.Text
}

// Gsub is string.gsub with a string replacement: it replaces up to n
// matches of pattern in s (all of them when n < 0), expanding %0-%9 and
// %% in repl, and returns the result and the number of matches.
func Gsub(s, pattern, repl string, n int, lim Limits) (string, int, error) {
	return gsub(s, pattern, n, lim, func(m *matcher, b, e int, out *output) error {
		return addTemplate(m, b, e, repl, out)
	})
}

// GsubFunc is string.gsub with a Go function as replacement. fn gets the
// captures of each match (the whole match when the pattern has none) and
// returns the replacement; keep=true leaves the matched text unchanged,
// like a Lua function returning nil or false.
func GsubFunc(s, pattern string, n int, lim Limits, fn func(caps []Capture) (repl string, keep bool, err error)) (string, int, error) {
	return gsub(s, pattern, n, lim, func(m *matcher, b, e int, out *output) error {
		caps, err := m.captures(b, e, true)
		if err != nil {
			return err
		}
		r, keep, err := fn(caps)
		if err != nil {
			return err
		}
		if keep {
			r = m.src[b:e]
		}
		return out.add(r)
	})
}

// Iterator walks the matches of a pattern lazily, like the function
// returned by string.gmatch. A leading '^' is not an anchor here, exactly
// as in Lua 5.1.
type Iterator struct {
	m   *matcher
	lim Limits
	pos int
}

// Gmatch returns an iterator over the matches of pattern in s.
func Gmatch(s, pattern string, lim Limits) *Iterator {
	lim = lim.withDefaults()
	return &Iterator{m: newMatcher(s, pattern, lim), lim: lim}
}

// Next returns the captures of the next match (the whole match when the
// pattern has none); ok is false when there are no more matches. Each
// call has its own step budget.
func (it *Iterator) Next() (caps []Capture, ok bool, err error) {
	m := it.m
	m.steps, m.err = it.lim.MaxSteps, nil
	first, skip := m.firstByte(0)
	for s := it.pos; s <= len(m.src); s++ {
		if skip {
			if s = m.skipTo(s, first); s < 0 {
				return nil, false, nil
			}
		}
		m.level = 0
		e := m.match(s, 0)
		if m.err != nil {
			return nil, false, m.err
		}
		if e < 0 {
			continue
		}
		next := e
		if e == s {
			next++ // an empty match advances at least one position
		}
		it.pos = next // advanced even if the captures are bad, as in gmatch_aux
		caps, err := m.captures(s, e, true)
		if err != nil {
			return nil, false, err
		}
		return caps, true, nil
	}
	return nil, false, nil
}
