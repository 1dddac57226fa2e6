package txn

import "strings"

// HeaderBlock renders a part's header fields and the blank line.
func (p *Part) HeaderBlock() string {
	if p.Top {
		return p.msg.HeaderBlock() + "\r\n"
	}
	var b strings.Builder
	for _, h := range p.Headers {
		b.WriteString(h.Name)
		b.WriteByte(':')
		b.WriteString(CRLF(h.Value))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// Reparse replaces a (non-top) part's contents with a parse of raw,
// keeping its identity and place in the tree.
func (p *Part) Reparse(raw string) {
	n := ParsePart(p.msg, raw, 0, 0)
	p.Headers, p.Body, p.Boundary = n.Headers, n.Body, n.Boundary
	p.Preamble, p.Epilogue, p.Unterminated = n.Preamble, n.Epilogue, n.Unterminated
	p.Children = n.Children
	for _, c := range p.Children {
		c.Parent = p
		c.Walk(func(d *Part) { d.BodyStart, d.BodyEnd = -1, -1 })
	}
	p.BodyStart, p.BodyEnd = -1, -1
	p.Raw = ""
	p.Touch()
}
