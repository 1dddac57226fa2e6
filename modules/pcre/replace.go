package pcre

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/dlclark/regexp2"
)

// Replace replaces every match of pattern in subject with repl, expanding
// $0, $&, $N, ${N}, ${name} and $$. The bool reports whether anything
// matched. Unknown group names in repl are an error.
func (e *Engine) Replace(subject, pattern, repl string) (string, bool, error) {
	c, err := e.compile(pattern)
	if err != nil {
		return "", false, err
	}
	parts, err := parseReplacement(repl, c.names)
	if err != nil {
		return "", false, err
	}
	buf := e.subject(subject)
	defer e.release(buf)
	text := *buf
	m, err := c.find(text, 0)
	if err != nil || m == nil {
		return subject, false, err
	}
	var out []rune
	last := 0
	for m != nil {
		out = append(out, text[last:m.Index]...)
		for _, p := range parts {
			if p.group < 0 {
				out = append(out, p.lit...)
			} else if g := m.GroupByNumber(p.group); g != nil && len(g.Captures) > 0 {
				out = append(out, g.Runes()...)
			}
		}
		last = m.Index + m.Length
		if m, err = c.next(m); err != nil {
			return "", false, err
		}
	}
	out = append(out, text[last:]...)
	return FromRunes(out), true, nil
}

// replPart is a literal (group < 0) or a group reference.
type replPart struct {
	lit   []rune
	group int
}

func parseReplacement(repl string, names []string) ([]replPart, error) {
	var parts []replPart
	var lit []rune
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, replPart{lit: lit, group: -1})
			lit = nil
		}
	}
	rs := ToRunes(repl)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '$' || i+1 >= len(rs) {
			lit = append(lit, rs[i])
			continue
		}
		switch n := rs[i+1]; {
		case n == '$':
			lit = append(lit, '$')
			i++
		case n == '&':
			flush()
			parts = append(parts, replPart{group: 0})
			i++
		case n >= '0' && n <= '9':
			j := i + 1
			for j < len(rs) && j < i+3 && rs[j] >= '0' && rs[j] <= '9' {
				j++
			}
			num, _ := strconv.Atoi(string(rs[i+1 : j]))
			flush()
			parts = append(parts, replPart{group: num})
			i = j - 1
		case n == '{':
			end := slices.Index(rs[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("pcre: replacement %q: unterminated ${", repl)
			}
			g, err := groupRef(string(rs[i+2:i+2+end]), names)
			if err != nil {
				return nil, fmt.Errorf("pcre: replacement %q: %w", repl, err)
			}
			flush()
			parts = append(parts, replPart{group: g})
			i += 2 + end
		default:
			lit = append(lit, '$')
		}
	}
	flush()
	return parts, nil
}

func groupRef(ref string, names []string) (int, error) {
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 {
		return n, nil
	}
	for i, name := range names {
		if name != "" && name == ref {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no group named %q", ref)
}

// Split returns the pieces of subject between matches of pattern, with
// Perl's rules: an empty match at the start yields no leading piece and
// trailing empty pieces are dropped.
func (e *Engine) Split(subject, pattern string) ([]string, error) {
	c, err := e.compile(pattern)
	if err != nil {
		return nil, err
	}
	buf := e.subject(subject)
	defer e.release(buf)
	text := *buf
	var out []string
	last := 0
	var m *regexp2.Match
	for m, err = c.find(text, 0); m != nil && err == nil; m, err = c.next(m) {
		if m.Length == 0 && (m.Index == 0 || m.Index >= len(text)) {
			continue
		}
		out = append(out, FromRunes(text[last:m.Index]))
		last = m.Index + m.Length
	}
	if err != nil {
		return nil, err
	}
	out = append(out, FromRunes(text[last:]))
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out, nil
}
