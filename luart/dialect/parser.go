package dialect

// The parser walks the token stream with Lua 5.1's grammar (plus goto and
// labels, which gopher-lua accepts) only to learn where each expression
// starts and ends. It never builds a tree: rewrites are recorded as token
// edits the moment an operator's operands are known.

const maxDepth = 1000 // nesting limit, so hostile input cannot exhaust the stack

type parser struct {
	chunk string
	src   []byte
	toks  []token
	pos   int
	depth int
	edits edits
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
		first := p.pos
		if err := p.exprList(); err != nil {
			return err
		}
		p.wrapIterator(first, p.pos-1)
	}
	if err := p.expect(tDo, "do"); err != nil {
		return err
	}
	if err := p.block(); err != nil {
		return err
	}
	return p.expectClose(tEnd, "end", "for", line)
}

// wrapIterator makes the explist of a generic for, tokens first to last,
// an argument list of HelperIter. The explist and an argument list are
// adjusted to their values alike (a call not at the end gives one value),
// and the for keeps the first three, so only the __iter lookup is added.
// An explist that already is one such call is left alone, so translating
// twice changes nothing more.
func (p *parser) wrapIterator(first, last int) {
	if p.isIterCall(first, last) {
		return
	}
	o := editAt(p.edits, first)
	o.opens = append(o.opens, HelperIter+"(")
	c := editAt(p.edits, last)
	c.closes = append(c.closes, ")")
}

// isIterCall reports whether tokens first to last are "HelperIter(...)".
func (p *parser) isIterCall(first, last int) bool {
	t := p.toks[first]
	if t.kind != tName || string(p.src[t.start:t.end]) != HelperIter || first+1 >= last || p.toks[first+1].kind != tLParen {
		return false
	}
	depth := 0
	for i := first + 1; i <= last; i++ {
		switch p.toks[i].kind {
		case tLParen:
			depth++
		case tRParen:
			depth--
			if depth == 0 {
				return i == last
			}
		}
	}
	return false
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
