package dialect

// Expressions, parsed like lparser.c's subexpr with thrLua's priorities.

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
