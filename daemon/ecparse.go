package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ecNode is one item of an ecelerity.conf: an option (`name = value`), a
// stanza (`name ["instance"] { ... }`) or a directive (`include "f"`).
type ecNode struct {
	name     string
	instance string
	value    string // option value; lists are joined with spaces
	block    bool
	children []*ecNode
	file     string
	line     int
}

type ecToken struct {
	kind byte // 'w' word or string, or one of { } ( ) =
	text string
	line int
}

const maxIncludeDepth = 10

// parseECFile parses an ecelerity.conf, splicing in included files.
func parseECFile(path string, depth int) ([]*ecNode, error) {
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("%s: includes nested more than %d deep", path, maxIncludeDepth)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("momentum config: %w", err)
	}
	toks, err := ecLex(path, string(src))
	if err != nil {
		return nil, err
	}
	p := &ecParser{file: path, toks: toks, depth: depth}
	return p.items(false)
}

func ecLex(file, src string) ([]ecToken, error) {
	var toks []ecToken
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == '(' || c == ')':
			toks = append(toks, ecToken{kind: c, line: line})
			i++
		case c == '=':
			i++
			if i < len(src) && src[i] == '>' { // "source => x" as in some samples
				i++
			}
			toks = append(toks, ecToken{kind: '=', line: line})
		case c == '"' || c == '\'':
			start := line
			var b strings.Builder
			i++
			for {
				if i >= len(src) {
					return nil, fmt.Errorf("%s:%d: unterminated string", file, start)
				}
				if src[i] == c {
					i++
					break
				}
				if src[i] == '\\' && i+1 < len(src) {
					i++
				}
				if src[i] == '\n' {
					line++
				}
				b.WriteByte(src[i])
				i++
			}
			toks = append(toks, ecToken{kind: 'w', text: b.String(), line: start})
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n{}()=#\"'", rune(src[j])) {
				j++
			}
			toks = append(toks, ecToken{kind: 'w', text: src[i:j], line: line})
			i = j
		}
	}
	return toks, nil
}

type ecParser struct {
	file  string
	toks  []ecToken
	pos   int
	depth int
}

func (p *ecParser) peek(off int) *ecToken {
	if p.pos+off < len(p.toks) {
		return &p.toks[p.pos+off]
	}
	return nil
}

func (p *ecParser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

// items parses until EOF or, inside a stanza, the closing brace.
func (p *ecParser) items(inBlock bool) ([]*ecNode, error) {
	var out []*ecNode
	for {
		t := p.peek(0)
		if t == nil {
			if inBlock {
				return nil, p.errorf(p.toks[len(p.toks)-1].line, "missing }")
			}
			return out, nil
		}
		if t.kind == '}' {
			if !inBlock {
				return nil, p.errorf(t.line, "unexpected }")
			}
			p.pos++
			return out, nil
		}
		if t.kind != 'w' {
			return nil, p.errorf(t.line, "unexpected %q", string(t.kind))
		}
		p.pos++
		n := &ecNode{name: t.text, file: p.file, line: t.line}
		next := p.peek(0)
		switch {
		case next != nil && next.kind == '=':
			p.pos++
			v, err := p.value(t.line)
			if err != nil {
				return nil, err
			}
			n.value = v
		case next != nil && next.kind == '{':
			p.pos++
			if err := p.block(n); err != nil {
				return nil, err
			}
		case next != nil && next.kind == 'w' && p.peek(1) != nil && p.peek(1).kind == '{':
			n.instance = next.text
			p.pos += 2
			if err := p.block(n); err != nil {
				return nil, err
			}
		case next != nil && next.kind == 'w':
			n.value = next.text // directive such as include "file"
			p.pos++
		}
		if n.name == "include" && !n.block {
			inc := n.value
			if !filepath.IsAbs(inc) {
				inc = filepath.Join(filepath.Dir(p.file), inc)
			}
			sub, err := parseECFile(inc, p.depth+1)
			if err != nil {
				return nil, p.errorf(n.line, "include: %v", err)
			}
			out = append(out, sub...)
			continue
		}
		out = append(out, n)
	}
}

func (p *ecParser) block(n *ecNode) error {
	n.block = true
	kids, err := p.items(true)
	if err != nil {
		return err
	}
	n.children = kids
	return nil
}

// value reads a word, a string or a parenthesised list.
func (p *ecParser) value(line int) (string, error) {
	t := p.peek(0)
	if t == nil {
		return "", p.errorf(line, "missing value")
	}
	if t.kind == 'w' {
		p.pos++
		return t.text, nil
	}
	if t.kind != '(' {
		return "", p.errorf(t.line, "unexpected %q after =", string(t.kind))
	}
	p.pos++
	var parts []string
	for {
		t := p.peek(0)
		if t == nil {
			return "", p.errorf(line, "missing )")
		}
		p.pos++
		if t.kind == ')' {
			return strings.Join(parts, " "), nil
		}
		if t.kind != 'w' {
			return "", p.errorf(t.line, "unexpected %q in list", string(t.kind))
		}
		parts = append(parts, t.text)
	}
}
