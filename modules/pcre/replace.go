package pcre

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// each calls fn after every match of a global search, with PCRE2's own
// rules for moving on (those of pcre2_substitute and pcre2test's /g): the
// next search starts where the match ended; after an empty match it first
// looks for a non-empty match at the same place, and failing that moves
// on by one character.
func (s *search) each(fn func() error) error {
	n := len(s.subject)
	start := 0
	var opts uint32
	s.start(time.Now())
	for count := 1; ; count++ {
		if count%64 == 0 {
			if err := s.expired(); err != nil {
				return err
			}
		}
		ok, err := s.exec(start, opts)
		if err != nil {
			return err
		}
		if !ok {
			if opts == 0 {
				return nil
			}
			opts = 0
			start = s.nextChar(start)
			if start > n {
				return nil
			}
			continue
		}
		if err := fn(); err != nil {
			return err
		}
		ms, me, _ := s.group(0)
		opts = 0
		if ms == me {
			if me == n {
				return nil
			}
			opts = optNotEmptyAtStart | optAnchored
		}
		start = me
	}
}

// nextChar is the offset after the character at i: one byte, a UTF-8
// sequence in UTF mode, or a CRLF pair when CRLF is a newline.
func (s *search) nextChar(i int) int {
	n := len(s.subject)
	if s.c.crlf && i+1 < n && s.subject[i] == '\r' && s.subject[i+1] == '\n' {
		return i + 2
	}
	i++
	for s.c.utf && i < n && s.subject[i]&0xC0 == 0x80 {
		i++
	}
	return i
}

// Replace replaces every match of pattern in subject with repl, expanding
// $0, $&, $N, ${N}, ${name} and $$. The bool reports whether anything
// matched. Unknown group names in repl are an error.
func (e *Engine) Replace(subject, pattern, repl string) (string, bool, error) {
	return e.ReplaceContext(context.Background(), subject, pattern, repl)
}

// ReplaceContext is Replace that also gives up, with ErrTimeout, when ctx
// ends.
func (e *Engine) ReplaceContext(ctx context.Context, subject, pattern, repl string) (string, bool, error) {
	c, err := e.compile(pattern)
	if err != nil {
		return "", false, err
	}
	parts, err := parseReplacement(repl, c.names)
	if err != nil {
		return "", false, err
	}
	var s search
	e.begin(&s, ctx, c, subject)
	defer s.end()
	var out strings.Builder
	last, matched := 0, false
	err = s.each(func() error {
		if !matched {
			out.Grow(len(subject))
			matched = true
		}
		ms, me, _ := s.group(0)
		out.WriteString(subject[last:ms])
		for _, p := range parts {
			if p.group < 0 {
				out.WriteString(p.lit)
			} else if a, b, ok := s.part(p); ok {
				out.WriteString(subject[a:b])
			}
		}
		last = me
		return nil
	})
	if err != nil {
		return "", false, err
	}
	if !matched {
		return subject, false, nil
	}
	out.WriteString(subject[last:])
	return out.String(), true, nil
}

// replPart is a literal (group < 0) or a group reference. A name that
// several groups share, (?J), lists them all in alt: the first of them
// that took part is used, as pcre2_substitute does.
type replPart struct {
	lit   string
	group int
	alt   []int
}

func parseReplacement(repl string, names []string) ([]replPart, error) {
	var parts []replPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, replPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(repl); i++ {
		if repl[i] != '$' || i+1 >= len(repl) {
			lit.WriteByte(repl[i])
			continue
		}
		switch n := repl[i+1]; {
		case n == '$':
			lit.WriteByte('$')
			i++
		case n == '&':
			flush()
			parts = append(parts, replPart{group: 0})
			i++
		case n >= '0' && n <= '9':
			j := i + 1
			for j < len(repl) && j < i+3 && repl[j] >= '0' && repl[j] <= '9' {
				j++
			}
			num, _ := strconv.Atoi(repl[i+1 : j])
			flush()
			parts = append(parts, replPart{group: num})
			i = j - 1
		case n == '{':
			end := strings.IndexByte(repl[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("pcre: replacement %q: unterminated ${", repl)
			}
			g, err := groupRef(repl[i+2:i+2+end], names)
			if err != nil {
				return nil, fmt.Errorf("pcre: replacement %q: %w", repl, err)
			}
			flush()
			parts = append(parts, replPart{group: g[0], alt: g[1:]})
			i += 2 + end
		default:
			lit.WriteByte('$')
		}
	}
	flush()
	return parts, nil
}

// groupRef resolves a ${...} reference, a number or a name, to the
// groups it stands for.
func groupRef(ref string, names []string) ([]int, error) {
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 {
		return []int{n}, nil
	}
	var gs []int
	for i, name := range names {
		if name != "" && name == ref {
			gs = append(gs, i)
		}
	}
	if gs == nil {
		return nil, fmt.Errorf("no group named %q", ref)
	}
	return gs, nil
}

// part returns the offsets of what a group reference stands for in the
// last match.
func (s *search) part(p replPart) (int, int, bool) {
	if a, b, ok := s.group(p.group); ok {
		return a, b, true
	}
	for _, g := range p.alt {
		if a, b, ok := s.group(g); ok {
			return a, b, true
		}
	}
	return 0, 0, false
}

// Split returns the pieces of subject between matches of pattern, with
// Perl's rules: an empty match at the start or end of the subject, or
// right where the previous match ended, does not split, and trailing
// empty pieces are dropped.
func (e *Engine) Split(subject, pattern string) ([]string, error) {
	return e.SplitContext(context.Background(), subject, pattern)
}

// SplitContext is Split that also gives up, with ErrTimeout, when ctx
// ends.
func (e *Engine) SplitContext(ctx context.Context, subject, pattern string) ([]string, error) {
	c, err := e.compile(pattern)
	if err != nil {
		return nil, err
	}
	var s search
	e.begin(&s, ctx, c, subject)
	defer s.end()
	var out []string
	last, prevEnd := 0, -1
	err = s.each(func() error {
		ms, me, _ := s.group(0)
		empty := ms == me
		if empty && (ms == 0 || ms == len(subject) || ms == prevEnd) {
			return nil
		}
		out = append(out, subject[last:ms])
		last, prevEnd = me, me
		return nil
	})
	if err != nil {
		return nil, err
	}
	out = append(out, subject[last:])
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out, nil
}
