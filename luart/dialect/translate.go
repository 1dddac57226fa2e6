// Package dialect translates the Lua dialect of Momentum's thrLua into plain
// Lua 5.1 that gopher-lua compiles.
//
// thrLua is Lua 5.1 with these patches (see thrlua's PATCHES file), all of
// which Translate rewrites:
//
//   - "!=" is a synonym of "~=" and a unary "!" a synonym of "not".
//   - Infix bitwise operators "&", "|", "^^" (xor), "<<", ">>", unary "~" and
//     integer division "\". They become calls of the helper functions named
//     in HelperNames, which InstallHelpers defines. Precedence is thrLua's
//     own (lparser.c): "|", "&" and "^^" bind like "+" and "-"; "<<", ">>"
//     and "\" bind like "*", "/" and "%"; all are left associative. So
//     "1 << 2 + 3" is 7 and "a & 0x0F != 0" is "(a & 0x0F) ~= 0".
//   - "\xHH" and "\uXXXX", "\uXXXXXX", "\uXXXXXXXX" string escapes (the code
//     point is stored as UTF-8); "\u{X...}" is accepted as well. They become
//     three-digit decimal escapes.
//   - Numerals with a leading zero ("0644") are octal; they become decimal.
//   - A generic for whose "in" value is not a function uses that value's
//     "__iter" metamethod (thrLua's lvm.c, OP_TFORLOOP). gopher-lua's VM
//     can't be changed, so the explist of every "for ... in" is wrapped in
//     a call of HelperIter, which resolves __iter once before the loop.
//
// Translate also works around gopher-lua v1.1.2 compiler defects: table
// constructors with more than 25,550 positional items lose the rest, and a
// keyed field that follows a multiple of 50 positional items overwrites
// earlier items with scratch values. Such constructors are split into
// several constructors that a helper merges at run time (see table.go);
// the resulting tables equal those lua5.1 builds from the original.
//
// Every output line corresponds to the same input line, so compiler and
// run-time errors point at the script author's own lines. Bytes outside the
// rewritten constructs, including all comments and long strings, are copied
// unchanged.
package dialect

import (
	"fmt"
	"slices"
	"strconv"
)

// Error is a translation error at a line of the original chunk.
type Error struct {
	Chunk string // chunk name given to Translate
	Line  int    // 1-based line in the original source
	Msg   string
}

// Error formats the error as "chunk:line: msg", like Lua's own messages.
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.Chunk, e.Line, e.Msg) }

func newError(chunk string, line int, format string, args ...any) *Error {
	return &Error{Chunk: chunk, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// edit changes how one token is written. Opens are written before the token
// (last added first, because an enclosing expression is finished after the
// expressions it contains), closes after it (in the order added).
type edit struct {
	opens   []string
	repl    string
	replace bool
	closes  []string
}

// Translate returns src with every thrLua extension rewritten into Lua 5.1.
// The first problem found is returned as an *Error.
func Translate(chunkName string, src []byte) ([]byte, error) {
	out, _, err := translate(chunkName, src)
	return out, err
}

// translate also reports whether any rewrite was needed.
func translate(chunk string, src []byte) ([]byte, bool, error) {
	toks, err := lex(chunk, src)
	if err != nil {
		return nil, false, err
	}
	es := make(edits, len(toks))
	dialectOps, separators, genericFor := false, 0, false
	for i, t := range toks {
		switch t.kind {
		case tBangEq:
			editAt(es, i).setRepl("~=")
		case tBang, tAmp, tPipe, tXor, tShl, tShr, tBackslash, tTilde:
			dialectOps = true
		case tComma, tSemi:
			separators++
		case tIn: // only a generic for has "in"
			genericFor = true
		case tNumber:
			if err := fixNumber(chunk, src, t, es, i); err != nil {
				return nil, false, err
			}
		case tString:
			s, changed, err := fixString(src[t.start:t.end])
			if err != nil {
				return nil, false, newError(chunk, t.line, "%s", err)
			}
			if changed {
				editAt(es, i).setRepl(s)
			}
		}
	}
	// Only a constructor with at least 50 items can trip the gopher-lua
	// defect and only a generic for needs HelperIter, so other chunks
	// without operators need no parse at all.
	if dialectOps || separators >= flushSize || genericFor {
		parsed := es
		if !dialectOps { // the parse may fail; keep the lexical es
			parsed = cloneEdits(es)
		}
		p := &parser{chunk: chunk, src: src, toks: toks, edits: parsed}
		switch err := p.parseChunk(); {
		case err == nil:
			es = parsed
		case dialectOps:
			return nil, false, err
		}
		// Without dialect operators a parse error is left for the Lua
		// compiler to report; only the constructor split and the for
		// rewrite are skipped.
	}
	if !slices.ContainsFunc(es, func(e *edit) bool { return e != nil }) {
		return append([]byte(nil), src...), false, nil
	}
	return render(src, toks, es), true, nil
}

// edits holds the edit of each token, nil for a token written unchanged.
type edits []*edit

func editAt(es edits, i int) *edit {
	e := es[i]
	if e == nil {
		e = &edit{}
		es[i] = e
	}
	return e
}

func cloneEdits(es edits) edits {
	c := make(edits, len(es))
	for i, e := range es {
		if e != nil {
			d := *e
			d.opens = slices.Clone(e.opens)
			d.closes = slices.Clone(e.closes)
			c[i] = &d
		}
	}
	return c
}

func (e *edit) setRepl(s string) { e.repl, e.replace = s, true }

// render writes the tokens with their edits, keeping every byte between
// tokens. A space is added where an inserted word would otherwise run into
// a neighbouring name or number.
func render(src []byte, toks []token, es edits) []byte {
	out := make([]byte, 0, len(src)+len(src)/8)
	write := func(s string) {
		if s == "" {
			return
		}
		if len(out) > 0 && isIdentByte(out[len(out)-1]) && isIdentByte(s[0]) {
			out = append(out, ' ')
		}
		out = append(out, s...)
	}
	prev := 0
	for i, e := range es {
		if e == nil {
			continue
		}
		t := toks[i]
		out = append(out, src[prev:t.start]...)
		for j := len(e.opens) - 1; j >= 0; j-- {
			write(e.opens[j])
		}
		if e.replace {
			write(e.repl)
		} else {
			write(string(src[t.start:t.end]))
		}
		for _, c := range e.closes {
			write(c)
		}
		prev = t.end
		if prev < len(src) && len(out) > 0 && isIdentByte(out[len(out)-1]) && isIdentByte(src[prev]) {
			out = append(out, ' ')
		}
	}
	return append(out, src[prev:]...)
}

// fixNumber rewrites a thrLua octal numeral ("0644") as decimal. thrLua
// reads a numeral that starts with "0" and a digit with strtol, so "08" or
// "01.5" are malformed there; they are rejected here too.
func fixNumber(chunk string, src []byte, t token, es edits, i int) error {
	s := src[t.start:t.end]
	if len(s) < 2 || s[0] != '0' || !isDigit(s[1]) {
		return nil
	}
	for _, c := range s[1:] {
		if c < '0' || c > '7' {
			return newError(chunk, t.line, "malformed number near '%s' (a leading 0 makes a numeral octal)", s)
		}
	}
	v, err := strconv.ParseInt(string(s[1:]), 8, 64)
	if err != nil { // strtol saturates
		v = 1<<63 - 1
	}
	editAt(es, i).setRepl(strconv.FormatInt(v, 10))
	return nil
}
