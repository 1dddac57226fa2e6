package dialect

// kind identifies a token. Comments and white space are not tokens: the
// bytes between two tokens are copied to the output unchanged, which is what
// keeps comments, layout and line numbers intact.
type kind uint8

const (
	tEOF kind = iota
	tName
	tNumber
	tString     // '...' or "..."
	tLongString // [[...]] or [==[...]==]
	tOther      // a byte Lua does not know; left for the compiler to reject

	// keywords
	tAnd
	tBreak
	tDo
	tElse
	tElseif
	tEnd
	tFalse
	tFor
	tFunction
	tGoto
	tIf
	tIn
	tLocal
	tNil
	tNot
	tOr
	tRepeat
	tReturn
	tThen
	tTrue
	tUntil
	tWhile

	// Lua 5.1 symbols
	tPlus
	tMinus
	tStar
	tSlash
	tPercent
	tCaret
	tHash
	tEq
	tNe // ~=
	tLe
	tGe
	tLt
	tGt
	tAssign
	tLParen
	tRParen
	tLBrace
	tRBrace
	tLBracket
	tRBracket
	tSemi
	tColon
	tDColon
	tComma
	tDot
	tConcat
	tDots

	// thrLua additions
	tBangEq    // != (same as ~=)
	tBang      // ! (same as not)
	tAmp       // &
	tPipe      // |
	tXor       // ^^
	tShl       // <<
	tShr       // >>
	tBackslash // \ (integer division)
	tTilde     // unary ~
)

var keywords = map[string]kind{
	"and": tAnd, "break": tBreak, "do": tDo, "else": tElse, "elseif": tElseif,
	"end": tEnd, "false": tFalse, "for": tFor, "function": tFunction,
	"goto": tGoto, "if": tIf, "in": tIn, "local": tLocal, "nil": tNil,
	"not": tNot, "or": tOr, "repeat": tRepeat, "return": tReturn,
	"then": tThen, "true": tTrue, "until": tUntil, "while": tWhile,
}

// token is one lexeme: src[start:end], starting on line.
type token struct {
	kind       kind
	start, end int
	line       int
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isIdentByte(c byte) bool {
	return c == '_' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// lexer splits a chunk the way thrLua's llex.c does, so that every byte
// inside a string, long string or comment is known to be one.
type lexer struct {
	chunk string
	src   []byte
	pos   int
	line  int
}

// newline consumes one line break at l.pos ("\n", "\r", "\r\n" or "\n\r"
// count as one, as in Lua).
func (l *lexer) newline() {
	c := l.src[l.pos]
	l.pos++
	if l.pos < len(l.src) && (l.src[l.pos] == '\n' || l.src[l.pos] == '\r') && l.src[l.pos] != c {
		l.pos++
	}
	l.line++
}

// lex splits the whole chunk into tokens; the last one is always tEOF.
func lex(chunk string, src []byte) ([]token, error) {
	l := &lexer{chunk: chunk, src: src, line: 1}
	if len(src) > 0 && src[0] == '#' { // "#!" line, skipped by Lua's loader
		for l.pos < len(src) && src[l.pos] != '\n' && src[l.pos] != '\r' {
			l.pos++
		}
	}
	toks := make([]token, 0, len(src)/4+1)
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, nil
		}
	}
}

func (l *lexer) errorf(line int, format string, args ...any) error {
	return newError(l.chunk, line, format, args...)
}

func (l *lexer) peek(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

func (l *lexer) next() (token, error) {
	src := l.src
	for l.pos < len(src) {
		c := src[l.pos]
		switch {
		case c == '\n' || c == '\r':
			l.newline()
			continue
		case c == ' ' || c == '\t' || c == '\f' || c == '\v':
			l.pos++
			continue
		case c == '-' && l.peek(1) == '-':
			if err := l.comment(); err != nil {
				return token{}, err
			}
			continue
		}
		break
	}
	t := token{start: l.pos, line: l.line}
	if l.pos >= len(src) {
		t.kind, t.end = tEOF, l.pos
		return t, nil
	}
	var err error
	t.kind, err = l.scan()
	t.end = l.pos
	return t, err
}

func (l *lexer) comment() error {
	line := l.line
	l.pos += 2
	if l.peek(0) == '[' {
		if level, ok := l.longBracket(); ok {
			if !l.skipLong(level) {
				return l.errorf(line, "unfinished long comment")
			}
			return nil
		}
	}
	for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
		l.pos++
	}
	return nil
}

// longBracket checks for "[", "="*level, "[" at l.pos and consumes it.
func (l *lexer) longBracket() (level int, ok bool) {
	p := l.pos + 1
	for p < len(l.src) && l.src[p] == '=' {
		p++
	}
	if p < len(l.src) && l.src[p] == '[' {
		level = p - l.pos - 1
		l.pos = p + 1
		return level, true
	}
	return p - l.pos - 1, false
}

// skipLong moves past the closing "]", "="*level, "]", counting lines.
func (l *lexer) skipLong(level int) bool {
	src := l.src
	for l.pos < len(src) {
		switch c := src[l.pos]; c {
		case '\n', '\r':
			l.newline()
		case ']':
			p := l.pos + 1
			for p < len(src) && src[p] == '=' {
				p++
			}
			if p < len(src) && src[p] == ']' && p-l.pos-1 == level {
				l.pos = p + 1
				return true
			}
			l.pos = p
		default:
			l.pos++
		}
	}
	return false
}

func (l *lexer) scan() (kind, error) {
	src, start := l.src, l.pos
	c := src[l.pos]
	switch {
	case isIdentByte(c) && !isDigit(c):
		for l.pos < len(src) && isIdentByte(src[l.pos]) {
			l.pos++
		}
		if k, ok := keywords[string(src[start:l.pos])]; ok {
			return k, nil
		}
		return tName, nil
	case isDigit(c) || (c == '.' && isDigit(l.peek(1))):
		l.number()
		return tNumber, nil
	case c == '"' || c == '\'':
		return tString, l.shortString(c)
	case c == '[':
		level, ok := l.longBracket()
		if ok {
			line := l.line
			if !l.skipLong(level) {
				return 0, l.errorf(line, "unfinished long string")
			}
			return tLongString, nil
		}
		if level > 0 {
			return 0, l.errorf(l.line, "invalid long string delimiter near '%s'", src[start:start+level+1])
		}
		l.pos++
		return tLBracket, nil
	}
	two := func(k kind) (kind, error) { l.pos += 2; return k, nil }
	n := l.peek(1)
	switch c {
	case '=':
		if n == '=' {
			return two(tEq)
		}
	case '~':
		if n == '=' {
			return two(tNe)
		}
		l.pos++
		return tTilde, nil
	case '!':
		if n == '=' {
			return two(tBangEq)
		}
	case '<':
		if n == '=' {
			return two(tLe)
		} else if n == '<' {
			return two(tShl)
		}
	case '>':
		if n == '=' {
			return two(tGe)
		} else if n == '>' {
			return two(tShr)
		}
	case '^':
		if n == '^' {
			return two(tXor)
		}
	case ':':
		if n == ':' {
			return two(tDColon)
		}
	case '.':
		if n == '.' {
			if l.peek(2) == '.' {
				l.pos += 3
				return tDots, nil
			}
			return two(tConcat)
		}
	}
	l.pos++
	if k := singles[c]; k != tEOF {
		return k, nil
	}
	return tOther, nil
}

// singles maps one-byte symbols to their kinds; tEOF marks "not a symbol".
var singles = func() (m [256]kind) {
	for c, k := range map[byte]kind{
		'+': tPlus, '-': tMinus, '*': tStar, '/': tSlash, '%': tPercent,
		'^': tCaret, '#': tHash, '<': tLt, '>': tGt, '=': tAssign,
		'(': tLParen, ')': tRParen, '{': tLBrace, '}': tRBrace, ']': tRBracket,
		';': tSemi, ':': tColon, ',': tComma, '.': tDot, '!': tBang,
		'&': tAmp, '|': tPipe, '\\': tBackslash,
	} {
		m[c] = k
	}
	return m
}()

// number consumes a numeral the way llex.c's read_numeral does: digits and
// dots, an optional exponent sign, then any letters, digits or '_'.
func (l *lexer) number() {
	src := l.src
	for l.pos < len(src) && (isDigit(src[l.pos]) || src[l.pos] == '.') {
		l.pos++
	}
	if l.pos < len(src) && (src[l.pos] == 'e' || src[l.pos] == 'E') {
		l.pos++
		if l.pos < len(src) && (src[l.pos] == '+' || src[l.pos] == '-') {
			l.pos++
		}
	}
	for l.pos < len(src) && isIdentByte(src[l.pos]) {
		l.pos++
	}
}

// shortString consumes a quoted string; escapes are checked later, when the
// string is rewritten.
func (l *lexer) shortString(quote byte) error {
	src, line := l.src, l.line
	l.pos++
	for l.pos < len(src) {
		switch c := src[l.pos]; c {
		case quote:
			l.pos++
			return nil
		case '\n', '\r':
			return l.errorf(line, "unfinished string")
		case '\\':
			l.pos++
			if l.pos < len(src) && (src[l.pos] == '\n' || src[l.pos] == '\r') {
				l.newline()
			} else {
				l.pos++
			}
		default:
			l.pos++
		}
	}
	return l.errorf(line, "unfinished string")
}
