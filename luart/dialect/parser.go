package dialect

// The parser walks the token stream with Lua 5.1's grammar (plus goto and
// labels, which gopher-lua accepts) only to learn where each expression
// starts and ends. It never builds a tree: rewrites are recorded as token
// edits the moment an operator's operands are known.

const maxDepth = 1000 // nesting limit, so hostile input cannot exhaust the stack

const unaryPriority = 8

// binary returns thrLua's priorities (lparser.c) for a binary operator and
// the helper that implements it, if it is a thrLua addition.
func binary(k kind) (left, right int, helper string, ok bool) {
	switch k {
	case tOr:
		return 1, 1, "", true
	case tAnd:
		return 2, 2, "", true
	case tLt, tGt, tLe, tGe, tEq, tNe, tBangEq:
		return 3, 3, "", true
	case tConcat:
		return 5, 4, "", true // right associative
	case tPlus, tMinus:
		return 6, 6, "", true
	case tPipe:
		return 6, 6, HelperOr, true
	case tAmp:
		return 6, 6, HelperAnd, true
	case tXor:
		return 6, 6, HelperXor, true
	case tStar, tSlash, tPercent:
		return 7, 7, "", true
	case tShl:
		return 7, 7, HelperShl, true
	case tShr:
		return 7, 7, HelperShr, true
	case tBackslash:
		return 7, 7, HelperIntDiv, true
	case tCaret:
		return 10, 9, "", true // right associative
	}
	return 0, 0, "", false
}

type parser struct {
	chunk string
	src   []byte
	toks  []token
	pos   int
	depth int
	edits map[int]*edit
}

// span is an expression's first and last token; multi marks a call or
// "...", whose results are all kept when it ends a constructor.
type span struct {
	first, last int
	multi       bool
}

func (p *parser) kind() kind { return p.toks[p.pos].kind }

func (p *parser) accept(k kind) bool {
	if p.kind() == k {
		p.pos++
		return true
	}
	return false
}

func (p *parser) errorf(format string, args ...any) error {
	t := p.toks[p.pos]
	near := "<eof>"
	if t.kind != tEOF {
		near = string(p.src[t.start:t.end])
	}
	return newError(p.chunk, t.line, format+" near '%s'", append(args, near)...)
}

func (p *parser) expect(k kind, what string) error {
	if !p.accept(k) {
		return p.errorf("'%s' expected", what)
	}
	return nil
}

// expectClose is expect for a keyword that closes a construct opened at an
// earlier line, worded like Lua's own message.
func (p *parser) expectClose(k kind, what, opener string, line int) error {
	if p.accept(k) {
		return nil
	}
	if p.toks[p.pos].line == line {
		return p.errorf("'%s' expected", what)
	}
	return p.errorf("'%s' expected (to close '%s' at line %d)", what, opener, line)
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("chunk has too many syntax levels")
	}
	return nil
}

func (p *parser) parseChunk() error {
	if err := p.block(); err != nil {
		return err
	}
	if p.kind() != tEOF {
		return p.errorf("'<eof>' expected")
	}
	return nil
}

func (p *parser) block() error {
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	for {
		switch p.kind() {
		case tEOF, tEnd, tElse, tElseif, tUntil:
			return nil
		case tSemi, tBreak:
			p.pos++
		case tReturn:
			p.pos++
			switch p.kind() {
			case tEOF, tEnd, tElse, tElseif, tUntil, tSemi:
			default:
				if err := p.exprList(); err != nil {
					return err
				}
			}
			p.accept(tSemi)
			return nil
		default:
			if err := p.statement(); err != nil {
				return err
			}
		}
	}
}

func (p *parser) statement() error {
	line := p.toks[p.pos].line
	switch p.kind() {
	case tIf:
		p.pos++
		if err := p.condBlock(tThen, "then"); err != nil {
			return err
		}
		for p.accept(tElseif) {
			if err := p.condBlock(tThen, "then"); err != nil {
				return err
			}
		}
		if p.accept(tElse) {
			if err := p.block(); err != nil {
				return err
			}
		}
		return p.expectClose(tEnd, "end", "if", line)
	case tWhile:
		p.pos++
		if err := p.condBlock(tDo, "do"); err != nil {
			return err
		}
		return p.expectClose(tEnd, "end", "while", line)
	case tDo:
		p.pos++
		if err := p.block(); err != nil {
			return err
		}
		return p.expectClose(tEnd, "end", "do", line)
	case tFor:
		return p.forStat(line)
	case tRepeat:
		p.pos++
		if err := p.block(); err != nil {
			return err
		}
		if err := p.expectClose(tUntil, "until", "repeat", line); err != nil {
			return err
		}
		_, err := p.expr(0)
		return err
	case tFunction:
		p.pos++
		if err := p.expect(tName, "<name>"); err != nil {
			return err
		}
		for p.accept(tDot) {
			if err := p.expect(tName, "<name>"); err != nil {
				return err
			}
		}
		if p.accept(tColon) {
			if err := p.expect(tName, "<name>"); err != nil {
				return err
			}
		}
		_, err := p.funcBody(line)
		return err
	case tLocal:
		p.pos++
		if p.accept(tFunction) {
			if err := p.expect(tName, "<name>"); err != nil {
				return err
			}
			_, err := p.funcBody(line)
			return err
		}
		if err := p.nameList(); err != nil {
			return err
		}
		if p.accept(tAssign) {
			return p.exprList()
		}
		return nil
	case tGoto:
		p.pos++
		return p.expect(tName, "<name>")
	case tDColon:
		p.pos++
		if err := p.expect(tName, "<name>"); err != nil {
			return err
		}
		return p.expect(tDColon, "::")
	}
	// assignment or function call
	if _, err := p.suffixed(); err != nil {
		return err
	}
	if p.kind() != tAssign && p.kind() != tComma {
		return nil
	}
	for p.accept(tComma) {
		if _, err := p.suffixed(); err != nil {
			return err
		}
	}
	if err := p.expect(tAssign, "="); err != nil {
		return err
	}
	return p.exprList()
}

// condBlock parses "exp <kw> block".
func (p *parser) condBlock(kw kind, what string) error {
	if _, err := p.expr(0); err != nil {
		return err
	}
	if err := p.expect(kw, what); err != nil {
		return err
	}
	return p.block()
}

func (p *parser) forStat(line int) error {
	p.pos++
	if err := p.expect(tName, "<name>"); err != nil {
		return err
	}
	if p.accept(tAssign) {
		if err := p.exprList(); err != nil { // start, limit [, step]
			return err
		}
	} else {
		for p.accept(tComma) {
			if err := p.expect(tName, "<name>"); err != nil {
				return err
			}
		}
		if err := p.expect(tIn, "in"); err != nil {
			return err
		}
		if err := p.exprList(); err != nil {
			return err
		}
	}
	if err := p.expect(tDo, "do"); err != nil {
		return err
	}
	if err := p.block(); err != nil {
		return err
	}
	return p.expectClose(tEnd, "end", "for", line)
}

func (p *parser) nameList() error {
	if err := p.expect(tName, "<name>"); err != nil {
		return err
	}
	for p.accept(tComma) {
		if err := p.expect(tName, "<name>"); err != nil {
			return err
		}
	}
	return nil
}

// funcBody parses "(params) block end" and returns the index of "end".
func (p *parser) funcBody(line int) (int, error) {
	if err := p.expect(tLParen, "("); err != nil {
		return 0, err
	}
	for p.kind() != tRParen {
		if p.accept(tDots) {
			break
		}
		if err := p.expect(tName, "<name>"); err != nil {
			return 0, err
		}
		if !p.accept(tComma) {
			break
		}
	}
	if err := p.expect(tRParen, ")"); err != nil {
		return 0, err
	}
	if err := p.block(); err != nil {
		return 0, err
	}
	end := p.pos
	return end, p.expectClose(tEnd, "end", "function", line)
}

func (p *parser) exprList() error {
	if _, err := p.expr(0); err != nil {
		return err
	}
	for p.accept(tComma) {
		if _, err := p.expr(0); err != nil {
			return err
		}
	}
	return nil
}

// expr parses operators whose left priority exceeds limit, like lparser.c's
// subexpr, and turns each thrLua operator into a helper call.
func (p *parser) expr(limit int) (span, error) {
	if err := p.enter(); err != nil {
		return span{}, err
	}
	defer func() { p.depth-- }()
	var e span
	switch op := p.kind(); op {
	case tNot, tMinus, tHash, tBang, tTilde:
		opIdx := p.pos
		p.pos++
		operand, err := p.expr(unaryPriority)
		if err != nil {
			return e, err
		}
		switch op {
		case tBang:
			editAt(p.edits, opIdx).setRepl("not")
		case tTilde:
			editAt(p.edits, opIdx).setRepl(HelperNot + "(")
			c := editAt(p.edits, operand.last)
			c.closes = append(c.closes, ")")
		}
		e = span{first: opIdx, last: operand.last}
	default:
		var err error
		if e, err = p.simple(); err != nil {
			return e, err
		}
	}
	for {
		left, right, helper, ok := binary(p.kind())
		if !ok || left <= limit {
			return e, nil
		}
		opIdx := p.pos
		p.pos++
		rhs, err := p.expr(right)
		if err != nil {
			return e, err
		}
		if helper != "" {
			o := editAt(p.edits, e.first)
			o.opens = append(o.opens, helper+"(")
			editAt(p.edits, opIdx).setRepl(",")
			c := editAt(p.edits, rhs.last)
			c.closes = append(c.closes, ")")
		}
		e = span{first: e.first, last: rhs.last}
	}
}

func (p *parser) simple() (span, error) {
	i := p.pos
	switch p.kind() {
	case tNumber, tString, tLongString, tNil, tTrue, tFalse:
		p.pos++
		return span{first: i, last: i}, nil
	case tDots:
		p.pos++
		return span{first: i, last: i, multi: true}, nil
	case tLBrace:
		return p.constructor(false)
	case tFunction:
		p.pos++
		end, err := p.funcBody(p.toks[i].line)
		return span{first: i, last: end}, err
	}
	return p.suffixed()
}

// suffixed parses a primary expression and its field, index and call
// suffixes.
func (p *parser) suffixed() (span, error) {
	e := span{first: p.pos}
	switch p.kind() {
	case tName:
		p.pos++
	case tLParen:
		p.pos++
		if _, err := p.expr(0); err != nil {
			return e, err
		}
		if err := p.expect(tRParen, ")"); err != nil {
			return e, err
		}
	default:
		return e, p.errorf("unexpected symbol")
	}
	for {
		switch p.kind() {
		case tDot:
			p.pos++
			if err := p.expect(tName, "<name>"); err != nil {
				return e, err
			}
			e.multi = false
		case tLBracket:
			p.pos++
			if _, err := p.expr(0); err != nil {
				return e, err
			}
			if err := p.expect(tRBracket, "]"); err != nil {
				return e, err
			}
			e.multi = false
		case tColon:
			p.pos++
			if err := p.expect(tName, "<name>"); err != nil {
				return e, err
			}
			if err := p.args(); err != nil {
				return e, err
			}
			e.multi = true
		case tLParen, tString, tLongString, tLBrace:
			if err := p.args(); err != nil {
				return e, err
			}
			e.multi = true
		default:
			e.last = p.pos - 1
			return e, nil
		}
	}
}

func (p *parser) args() error {
	switch p.kind() {
	case tString, tLongString:
		p.pos++
		return nil
	case tLBrace:
		_, err := p.constructor(true)
		return err
	case tLParen:
		line := p.toks[p.pos].line
		p.pos++
		if p.kind() != tRParen {
			if err := p.exprList(); err != nil {
				return err
			}
		}
		return p.expectClose(tRParen, ")", "(", line)
	}
	return p.errorf("function arguments expected")
}
