package pcre

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// translation is a PCRE pattern rewritten for regexp2 (see the package
// documentation for why) plus the group names it removed.
type translation struct {
	expr  string
	names []string // names[i] is the name of group i, "" when unnamed
}

// leadingVerbs are PCRE start-of-pattern settings that are accepted and
// ignored: UTF-8 handling is always on, the others have no regexp2 switch.
var leadingVerbs = []string{"(*UTF8)", "(*UTF)", "(*UCP)", "(*NO_START_OPT)"}

// translate runs the rewrite twice: the first pass learns the group
// numbers of all names so that forward references resolve in the second.
func translate(pattern []rune) (*translation, error) {
	first := &translator{p: pattern, byName: map[string]int{}, collect: true}
	if err := first.run(); err != nil {
		return nil, err
	}
	second := &translator{p: pattern, byName: first.byName}
	if err := second.run(); err != nil {
		return nil, err
	}
	return &translation{expr: string(second.out), names: second.names}, nil
}

type translator struct {
	p       []rune
	i       int
	out     []rune
	names   []string
	byName  map[string]int
	collect bool
}

type patternError struct {
	code int
	msg  string
}

func (e *patternError) Error() string { return e.msg }

func (t *translator) run() error {
	t.names = []string{""}
	for again := true; again; {
		again = false
		for _, v := range leadingVerbs {
			if strings.HasPrefix(string(t.p[t.i:min(len(t.p), t.i+len(v))]), v) {
				t.i += len(v)
				again = true
			}
		}
	}
	for t.i < len(t.p) {
		var err error
		switch c := t.p[t.i]; c {
		case '\\':
			err = t.escape()
		case '[':
			t.class()
		case '(':
			err = t.group()
		case '$':
			t.out = append(t.out, []rune(`(?:$|(?=\n\z))`)...)
			t.i++
		default:
			t.emit(c)
			t.i++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// emit appends r, spelling bytes that were not valid UTF-8 as \uDCxx so
// that they survive regexp2's string-based Compile.
func (t *translator) emit(r rune) {
	if r >= escapeLow && r <= escapeHigh {
		t.out = append(t.out, []rune(fmt.Sprintf(`\u%04X`, r))...)
		return
	}
	t.out = append(t.out, r)
}

func (t *translator) peek(off int) rune {
	if t.i+off < len(t.p) {
		return t.p[t.i+off]
	}
	return -1
}

func (t *translator) backref(n int) {
	t.out = append(t.out, []rune(`(?:\`+strconv.Itoa(n)+`)`)...)
}

func (t *translator) lookup(name string) (int, error) {
	if t.collect {
		return 1, nil
	}
	n, ok := t.byName[name]
	if !ok {
		return 0, &patternError{codeUndefinedName, fmt.Sprintf("reference to non-existent subpattern %q", name)}
	}
	return n, nil
}

// readName reads a group name up to the terminator close and moves past it.
func (t *translator) readName(close rune) (string, error) {
	start := t.i
	for t.i < len(t.p) && t.p[t.i] != close {
		t.i++
	}
	if t.i >= len(t.p) {
		return "", &patternError{codeBadName, "unterminated group name"}
	}
	name := string(t.p[start:t.i])
	t.i++
	if name == "" || unicode.IsDigit([]rune(name)[0]) || strings.IndexFunc(name, notWord) >= 0 {
		return "", &patternError{codeBadName, fmt.Sprintf("invalid group name %q", name)}
	}
	return name, nil
}

func notWord(r rune) bool { return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) }

func (t *translator) escape() error {
	n := t.peek(1)
	switch {
	case n < 0:
		t.out = append(t.out, '\\')
		t.i++
		return nil
	case n >= escapeLow && n <= escapeHigh:
		t.emit(n)
		t.i += 2
		return nil
	case n == 'Q':
		t.quote()
		return nil
	case n == 'E':
		t.i += 2
		return nil
	case n == 'k' && strings.ContainsRune("<'{", t.peek(2)):
		close := map[rune]rune{'<': '>', '\'': '\'', '{': '}'}[t.peek(2)]
		t.i += 3
		return t.namedRef(close)
	case n == 'g' && t.peek(2) == '{':
		t.i += 3
		start := t.i
		for t.i < len(t.p) && t.p[t.i] != '}' {
			t.i++
		}
		if t.i >= len(t.p) {
			return &patternError{codeBadName, `unterminated \g{...} reference`}
		}
		ref := string(t.p[start:t.i])
		t.i++
		return t.numberOrName(ref)
	case n == 'g' && (unicode.IsDigit(t.peek(2)) || t.peek(2) == '-'):
		t.i += 2
		start := t.i
		t.i++
		for t.i < len(t.p) && unicode.IsDigit(t.p[t.i]) {
			t.i++
		}
		return t.numberOrName(string(t.p[start:t.i]))
	}
	t.out = append(t.out, '\\', n)
	t.i += 2
	return nil
}

func (t *translator) namedRef(close rune) error {
	name, err := t.readName(close)
	if err != nil {
		return err
	}
	n, err := t.lookup(name)
	if err != nil {
		return err
	}
	t.backref(n)
	return nil
}

// numberOrName resolves the argument of \g: a number, a relative -N or a name.
func (t *translator) numberOrName(ref string) error {
	if n, err := strconv.Atoi(ref); err == nil {
		if n < 0 {
			n = len(t.names) + n // names holds group 0 too
		}
		if n <= 0 {
			return &patternError{codeBadReference, fmt.Sprintf(`invalid \g reference %q`, ref)}
		}
		t.backref(n)
		return nil
	}
	n, err := t.lookup(ref)
	if err != nil {
		return err
	}
	t.backref(n)
	return nil
}

// quote copies \Q...\E as escaped literals.
func (t *translator) quote() {
	t.i += 2
	for t.i < len(t.p) {
		if t.p[t.i] == '\\' && t.peek(1) == 'E' {
			t.i += 2
			return
		}
		r := t.p[t.i]
		if strings.ContainsRune(`\*+?|{}[]()^$.# `, r) {
			t.out = append(t.out, '\\')
		}
		t.emit(r)
		t.i++
	}
}

// class copies a [...] character class; "$" and "(" are literal inside.
func (t *translator) class() {
	t.out = append(t.out, '[')
	t.i++
	if t.peek(0) == '^' {
		t.out = append(t.out, '^')
		t.i++
	}
	if t.peek(0) == ']' {
		t.out = append(t.out, '\\', ']')
		t.i++
	}
	for t.i < len(t.p) {
		c := t.p[t.i]
		switch {
		case c == ']':
			t.out = append(t.out, ']')
			t.i++
			return
		case c == '\\' && t.i+1 < len(t.p):
			if n := t.p[t.i+1]; n >= escapeLow && n <= escapeHigh {
				t.emit(n)
			} else {
				t.out = append(t.out, '\\', n)
			}
			t.i += 2
		case c == '[' && t.peek(1) == ':':
			end := strings.Index(string(t.p[t.i:]), ":]")
			if end < 0 {
				t.out = append(t.out, '\\', '[')
				t.i++
				continue
			}
			seg := []rune(string(t.p[t.i:])[:end+2])
			t.out = append(t.out, seg...)
			t.i += len(seg)
		case c == '[':
			// A bare "[" is literal in PCRE but starts a subtraction in .NET.
			t.out = append(t.out, '\\', '[')
			t.i++
		default:
			t.emit(c)
			t.i++
		}
	}
}

func (t *translator) group() error {
	if t.peek(1) != '?' {
		t.names = append(t.names, "")
		t.out = append(t.out, '(')
		t.i++
		return nil
	}
	switch a, b := t.peek(2), t.peek(3); {
	case a == 'P' && b == '<':
		t.i += 4
		return t.named('>')
	case a == '<' && b != '=' && b != '!':
		t.i += 3
		return t.named('>')
	case a == '\'':
		t.i += 3
		return t.named('\'')
	case a == 'P' && b == '=':
		t.i += 4
		return t.namedRef(')')
	case a == '#':
		for t.i < len(t.p) && t.p[t.i] != ')' {
			t.emit(t.p[t.i])
			t.i++
		}
		return nil
	case a == '(':
		return t.condition()
	}
	t.out = append(t.out, '(', '?')
	t.i += 2
	return nil
}

func (t *translator) named(close rune) error {
	name, err := t.readName(close)
	if err != nil {
		return err
	}
	if t.collect {
		if _, dup := t.byName[name]; dup {
			return &patternError{codeDuplicateName, fmt.Sprintf("two named subpatterns have the same name %q", name)}
		}
		t.byName[name] = len(t.names)
	}
	t.names = append(t.names, name)
	t.out = append(t.out, '(')
	return nil
}

// condition rewrites (?(name)...), (?(<name>)...) and (?('name')...) to
// the group number; other conditions are copied unchanged.
func (t *translator) condition() error {
	rest := string(t.p[t.i+3:])
	end := strings.IndexRune(rest, ')')
	if end > 0 {
		name := strings.Trim(rest[:end], "<>'")
		if _, err := strconv.Atoi(name); err != nil && strings.IndexFunc(name, notWord) < 0 && name != "" {
			if n, ok := t.byName[name]; ok || t.collect {
				t.out = append(t.out, []rune("(?("+strconv.Itoa(n)+")")...)
				t.i += 3 + len([]rune(rest[:end])) + 1
				return nil
			}
		}
	}
	t.out = append(t.out, '(', '?', '(')
	t.i += 3
	return nil
}
