package dialect

import "strconv"

// gopher-lua v1.1.2 compiles positional constructor items in batches of
// flushSize (SETLIST). Two defects follow from its compileTableExpr:
//
//   - After 511 batches (25,550 items) the batch number written into the
//     extra SETLIST word is 0, so every further item is lost.
//   - When the positional count is a positive multiple of flushSize, every
//     keyed field re-emits the last batch from registers the keyed field has
//     just used as scratch, so "{1, ..., 50, k = f()}" overwrites t[1].
//
// Constructors that would hit either are split into sub-constructors that
// avoid both and are merged at run time by HelperMerge, as a chain of calls
// that needs a fixed number of registers however many chunks there are:
//
//	{a, b, [k] = v, c, f()}  ->  merge({chunk1}, n1)({chunk2}, n2, true, f())
//
// where nJ is the number of positional items in chunk J and the final call
// is marked by its third argument. A final positional call or "..." is
// passed after the marker so that all its results are kept, exactly as in
// the original. Evaluation order is unchanged.
const (
	flushSize      = 50
	maxFields      = 25000 // larger constructors are split ...
	maxChunkFields = 20000 // ... into chunks of this many fields
)

type field struct {
	first, last int // tokens of the whole field
	sep         int // index of the "," or ";" after it, -1 if none
	keyed       bool
	multi       bool // positional call or "..."
}

// constructor parses "{ fields }". callArg marks "f{...}", whose rewrite
// needs parentheses around it.
func (p *parser) constructor(callArg bool) (span, error) {
	open := p.pos
	line := p.toks[open].line
	p.pos++
	var fields []field
	for p.kind() != tRBrace {
		f := field{first: p.pos, sep: -1}
		var err error
		var e span
		switch {
		case p.kind() == tLBracket:
			f.keyed = true
			p.pos++
			if _, err = p.expr(0); err != nil {
				return span{}, err
			}
			if err = p.expect(tRBracket, "]"); err != nil {
				return span{}, err
			}
			if err = p.expect(tAssign, "="); err != nil {
				return span{}, err
			}
			e, err = p.expr(0)
		case p.kind() == tName && p.toks[p.pos+1].kind == tAssign:
			f.keyed = true
			p.pos += 2
			e, err = p.expr(0)
		default:
			e, err = p.expr(0)
			f.multi = e.multi
		}
		if err != nil {
			return span{}, err
		}
		f.last = e.last
		if k := p.kind(); k == tComma || k == tSemi {
			f.sep = p.pos
			p.pos++
			fields = append(fields, f)
			continue
		}
		fields = append(fields, f)
		break
	}
	closeIdx := p.pos
	if err := p.expectClose(tRBrace, "}", "{", line); err != nil {
		return span{}, err
	}
	p.splitConstructor(open, closeIdx, fields, callArg)
	return span{first: open, last: closeIdx}, nil
}

// splitConstructor records the rewrite described above, if one is needed.
func (p *parser) splitConstructor(open, closeIdx int, fields []field, callArg bool) {
	if len(fields) < flushSize {
		return
	}
	var starts []int // first field of every chunk after the first
	count, positional := 0, 0
	bySize := len(fields) > maxFields
	for i, f := range fields {
		if (bySize && count == maxChunkFields) || (f.keyed && positional > 0 && positional%flushSize == 0) {
			starts = append(starts, i)
			count, positional = 0, 0
		}
		count++
		if !f.keyed {
			positional++
		}
	}
	if len(starts) == 0 {
		return
	}
	last := fields[len(fields)-1]
	finalMulti := !last.keyed && last.multi
	// positional counts per chunk, without a final multi-value item
	counts := make([]int, len(starts)+1)
	chunk := 0
	for i, f := range fields {
		if chunk < len(starts) && i == starts[chunk] {
			chunk++
		}
		if !f.keyed && !(finalMulti && i == len(fields)-1) {
			counts[chunk]++
		}
	}
	prefix, suffix := "", ")"
	if callArg {
		prefix, suffix = "(", "))"
	}
	editAt(p.edits, open).setRepl(prefix + HelperMerge + "({")
	for j, s := range starts {
		prev := fields[s-1]
		if prev.multi { // no longer last in its constructor: keep one value
			o := editAt(p.edits, prev.first)
			o.opens = append(o.opens, "(")
			c := editAt(p.edits, prev.last)
			c.closes = append(c.closes, ")")
		}
		c := editAt(p.edits, prev.sep)
		c.closes = append(c.closes, "}, "+strconv.Itoa(counts[j])+")({")
	}
	n := strconv.Itoa(counts[len(starts)])
	if finalMulti {
		o := editAt(p.edits, last.first)
		o.opens = append(o.opens, "}, "+n+", true, ")
		if last.sep >= 0 { // "f(),)" would not compile
			editAt(p.edits, last.sep).setRepl("")
		}
		editAt(p.edits, closeIdx).setRepl(suffix)
		return
	}
	editAt(p.edits, closeIdx).setRepl("}, " + n + ", true" + suffix)
}
