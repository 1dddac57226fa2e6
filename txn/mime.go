package txn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/luamilter/luamilter/internal/hdrblock"
)

// Part is one node of msg:mime()'s tree. The top part is the message
// itself: its header methods edit the message's header fields. A part
// read from the message keeps its received bytes (raw) and is written out
// unchanged unless it or a descendant was edited, so editing one part of
// a large message leaves the others byte for byte as they came.
//
// The tree is built with go-message's textproto.MultipartReader, which
// splits a multipart body; each part's header fields are read by
// hdrblock, as Postfix reads them.
// go-message does not report where a part lies in the message, so the
// part found by the reader is located in the body by its bytes; that gives
// .body_start/.body_end and the preamble and epilogue, which are kept.
type Part struct {
	msg    *Message
	Top    bool
	Parent *Part

	Headers []Field // the part's header fields (unused for the top part)
	Body    string  // leaf: encoded body as it stands
	Raw     string  // part as received (header, blank line, body); "" if new

	// container parts
	Boundary     string
	Preamble     string // everything before the first delimiter line
	Epilogue     string // everything after "--boundary--"
	Children     []*Part
	Unterminated bool // the received body lacked the close delimiter

	BodyStart, BodyEnd int // offsets in msg:raw() when parsed; -1 if new
	edited             bool
	// Handle is the embedding program's object for this part (its Lua
	// userdata), made once so a part always maps to the same one.
	Handle any

	// made is the content msg:makePart was given, for parts made that
	// way: on Momentum body_start and body_end select the slice of it
	// the part carries.
	Made *Made
}

// Made is a made part's content before transfer encoding.
type Made struct {
	Data string // as the script gave it: the offsets count its bytes
	CTE  string
}

// SetBounds implements assigning .body_start and .body_end of a part
// from msg:makePart: the part then carries content[start:end], as the
// offsets into its content object select on Momentum. The documented
// use (0 and #content after makePart) leaves the content whole. A
// parsed part's offsets describe where it lies in the message and can't
// be moved.
func (p *Part) SetBounds(start, end int) error {
	if p.Made == nil {
		return errors.New("body_start and body_end can only be set on a part from msg:makePart")
	}
	n := len(p.Made.Data)
	if start < 0 || end < start || end > n {
		return fmt.Errorf("body_start %d and body_end %d must satisfy 0 <= body_start <= body_end <= %d (the content's length)", start, end, n)
	}
	content := p.Made.Data[start:end]
	if p.Made.CTE != "base64" && p.Made.CTE != "binary" {
		content = normalizeLines(content)
	}
	body, err := encodeCTE([]byte(content), p.Made.CTE)
	if err != nil {
		return err
	}
	p.Body, p.BodyStart, p.BodyEnd = body, start, end
	p.Touch()
	return nil
}

// Msg returns the message the part belongs to.
func (p *Part) Msg() *Message { return p.msg }

// errReadOnly is raised by edits of a tree from msg:mime() or msg:mime(true).
var ErrReadOnly = errors.New("the MIME tree is read-only: call msg:mime(false) before changing it")

// ParseTree builds the MIME tree of the current message.
func (m *Message) ParseTree() (*Part, error) {
	body, err := m.CurrentBody()
	if err != nil {
		return nil, err
	}
	top := &Part{msg: m, Top: true, Raw: "", Body: body}
	base := m.HeaderBlockSize() + 2
	top.BodyStart, top.BodyEnd = base, base+len(body)
	top.split(body, base, 0)
	return top, nil
}

// maxDepth bounds nesting so a hostile message can't recurse without end.
const maxDepth = 50

// ParsePart parses one part's bytes (header, blank line, body) found at
// offset base of msg:raw().
func ParsePart(m *Message, raw string, base, depth int) *Part {
	p := &Part{msg: m, Raw: raw}
	fields, off := hdrblock.Split(raw)
	p.Headers = fieldsOf(fields)
	body := raw[off:]
	p.Body = body
	p.BodyStart, p.BodyEnd = base+off, base+len(raw)
	p.split(body, base+off, depth)
	return p
}

// splitHead cuts a part at the blank line ending its header. A part
// starting with a blank line has no header fields.
func splitHead(raw string) (head, body string, bodyOff int) {
	for _, nl := range []string{"\r\n", "\n"} {
		if strings.HasPrefix(raw, nl) {
			return "", raw[len(nl):], len(nl)
		}
		if i := strings.Index(raw, nl+nl); i >= 0 {
			return raw[:i+len(nl)], raw[i+2*len(nl):], i + 2*len(nl)
		}
	}
	return raw, "", len(raw)
}

// ReadHeaderFields parses a header block, keeping each field's name and
// raw value (folding included) as received. A line that is neither a
// field nor a continuation ends the fields (see hdrblock).
func ReadHeaderFields(head string) []Field {
	fields, _ := hdrblock.Split(head)
	return fieldsOf(fields)
}

// fieldsOf makes received fields of a header block's.
func fieldsOf(fields []hdrblock.Field) []Field {
	if len(fields) == 0 {
		return nil
	}
	out := make([]Field, len(fields))
	for i, f := range fields {
		out[i] = Field{Name: f.Name, Value: f.Value, Orig: -1}
	}
	return out
}

// split turns p into a container when its Content-Type is multipart with a
// boundary that occurs in body. Otherwise (including a boundary that never
// occurs) p stays a leaf.
func (p *Part) split(body string, base, depth int) {
	mt, params := p.MediaType()
	b := params["boundary"]
	if !strings.HasPrefix(mt, "multipart/") || b == "" || depth >= maxDepth {
		return
	}
	dash := "--" + b
	mr := textproto.NewMultipartReader(strings.NewReader(body), b)
	cursor := 0
	var kids []*Part
	closed := false
	nl := "\r\n"
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			closed = true
			break
		}
		if err != nil {
			break
		}
		// Only the length is needed: the bytes are in body already.
		n, _ := io.Copy(io.Discard, part) // raw: textproto parts don't decode
		// The delimiter line before this part.
		pos := -1
		if len(kids) == 0 {
			if strings.HasPrefix(body, dash) {
				pos = 0
			} else if i := strings.Index(body, "\n"+dash); i >= 0 {
				pos = i + 1
			}
		} else if i := strings.Index(body[cursor:], dash); i >= 0 {
			pos = cursor + i
		}
		if pos < 0 {
			break
		}
		eol := strings.IndexByte(body[pos:], '\n')
		if eol < 0 {
			break
		}
		if len(kids) == 0 {
			p.Preamble = body[:pos]
			if !strings.HasSuffix(body[pos:pos+eol+1], "\r\n") {
				nl = "\n"
			}
		}
		hstart := pos + eol + 1
		end := locate(body, hstart, int(n), nl+dash)
		kids = append(kids, ParsePart(p.msg, body[hstart:end], base+hstart, depth+1))
		cursor = end
	}
	if len(kids) == 0 {
		return
	}
	p.Boundary, p.Children = b, kids
	for _, k := range kids {
		k.Parent = p
	}
	if closed {
		if i := strings.Index(body[cursor:], dash+"--"); i >= 0 {
			p.Epilogue = body[cursor+i+len(dash)+2:]
			return
		}
	}
	p.Unterminated = true
	p.Epilogue = "\r\n"
}

// locate finds where a part starting at from ends in body, given the
// length n of its content as go-message read it: n bytes after the blank
// line ending the part's header. A part cut off by a missing close
// delimiter ends there too (the reader held back the final line end).
// Should that not line up with a delimiter, the first delimiter after
// from (or the end of body) is taken.
func locate(body string, from, n int, delim string) int {
	_, _, off := splitHead(body[from:])
	end := from + off + n
	if end <= len(body) && (strings.HasPrefix(body[end:], delim) || strings.TrimRight(body[end:], "\r\n") == "") {
		return end
	}
	if i := strings.Index(body[from:], delim); i >= 0 {
		return from + i
	}
	return len(body)
}

// HeaderList returns the part's header fields (the message's for the top).
func (p *Part) HeaderList() []Field {
	if p.Top {
		return p.msg.Headers
	}
	return p.Headers
}

// HeaderValue is the first value of a field, unfolded and decoded.
func (p *Part) HeaderValue(name string) string {
	for _, h := range p.HeaderList() {
		if strings.EqualFold(h.Name, name) {
			return DecodeHeader(h.Value)
		}
	}
	return ""
}

// SetHeader edits the part's fields like msg:header.
func (p *Part) SetHeader(name string, values []string, mode string) {
	if p.Top {
		p.msg.SetHeader(name, values, mode)
		return
	}
	tmp := &Message{Headers: p.Headers}
	tmp.SetHeader(name, values, mode)
	p.Headers = tmp.Headers
	p.Touch()
}

// MediaType is the part's lower-case media type and parameters, with the
// RFC 2045 default for a part without (or with a broken) Content-Type.
func (p *Part) MediaType() (string, map[string]string) {
	v := p.HeaderValue("Content-Type")
	if v != "" {
		if mt, params, err := mime.ParseMediaType(v); err == nil {
			return strings.ToLower(mt), params
		}
		if mt, _, _ := strings.Cut(v, ";"); strings.Contains(mt, "/") {
			return strings.ToLower(strings.TrimSpace(mt)), map[string]string{}
		}
	}
	if p.Parent != nil {
		if mt, _ := p.Parent.MediaType(); mt == "multipart/digest" {
			return "message/rfc822", map[string]string{}
		}
	}
	return "text/plain", map[string]string{"charset": "us-ascii"}
}

// Encoding is the part's Content-Transfer-Encoding, lower case.
func (p *Part) Encoding() string {
	e := strings.ToLower(strings.TrimSpace(p.HeaderValue("Content-Transfer-Encoding")))
	if e == "" {
		return "7bit"
	}
	return e
}

// Disposition reports whether the part is an attachment and its file name
// (Content-Disposition filename, else Content-Type name).
func (p *Part) Disposition() (attachment bool, filename string) {
	disp, dparams, _ := mime.ParseMediaType(p.HeaderValue("Content-Disposition"))
	_, cparams := p.MediaType()
	filename = dparams["filename"]
	if filename == "" {
		filename = cparams["name"]
	}
	disp = strings.ToLower(disp)
	return disp == "attachment" || (filename != "" && disp != "inline"), filename
}

// Container reports whether p holds parts.
func (p *Part) Container() bool { return p.Boundary != "" }

// Touch marks p changed, so it is written out from its fields.
func (p *Part) Touch() { p.edited = true }

// Dirty reports whether p or a part below it changed.
func (p *Part) Dirty() bool {
	if p.edited {
		return true
	}
	for _, c := range p.Children {
		if c.Dirty() {
			return true
		}
	}
	return false
}

// clean marks the tree as written; offsets keep describing the old body.
func (p *Part) clean() {
	if p.Dirty() {
		p.Raw = ""
	}
	p.edited = false
	for _, c := range p.Children {
		c.clean()
	}
}

// WriteBody writes the part's body: a leaf's encoded content, or the
// delimited children of a container.
func (p *Part) WriteBody(w io.Writer) error {
	if !p.Container() {
		_, err := io.WriteString(w, p.Body)
		return err
	}
	var b bytes.Buffer
	flush := func() error {
		_, err := w.Write(b.Bytes())
		b.Reset()
		return err
	}
	b.WriteString(p.Preamble)
	for i, c := range p.Children {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("--" + p.Boundary + "\r\n")
		if err := flush(); err != nil {
			return err
		}
		if err := c.WritePart(w); err != nil {
			return err
		}
	}
	if len(p.Children) > 0 {
		b.WriteString("\r\n")
	}
	b.WriteString("--" + p.Boundary + "--")
	b.WriteString(p.Epilogue)
	return flush()
}

// WritePart writes a part with its header: unchanged parts as received.
func (p *Part) WritePart(w io.Writer) error {
	if p.Raw != "" && !p.Dirty() {
		_, err := io.WriteString(w, p.Raw)
		return err
	}
	if _, err := io.WriteString(w, p.HeaderBlock()); err != nil {
		return err
	}
	return p.WriteBody(w)
}

// CRLF turns bare LF line ends into CRLF.
func CRLF(s string) string {
	// Received folded values already end their lines in CRLF.
	if strings.Count(s, "\n") == strings.Count(s, "\r\n") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// Walk visits p and its descendants depth first.
func (p *Part) Walk(fn func(*Part)) {
	fn(p)
	for _, c := range p.Children {
		c.Walk(fn)
	}
}

// Next is the part after p in depth-first order (Momentum's .thread).
func (p *Part) Next() *Part {
	if len(p.Children) > 0 {
		return p.Children[0]
	}
	for cur := p; cur.Parent != nil; cur = cur.Parent {
		sib := cur.Parent.Children
		for i, c := range sib {
			if c == cur && i+1 < len(sib) {
				return sib[i+1]
			}
		}
	}
	return nil
}

// Root returns the top of p's tree (p itself for an unlinked part).
func (p *Part) Root() *Part {
	for p.Parent != nil {
		p = p.Parent
	}
	return p
}

// Link puts part into p's children at index i.
func (p *Part) Link(part *Part, i int) error {
	if !p.Container() {
		return errors.New("the parent must be a multipart container")
	}
	if part.Top {
		return errors.New("the message's top part can't be moved")
	}
	if part.IsAncestorOf(p) {
		return errors.New("a part can't become its own descendant")
	}
	part.Unlink()
	if i > len(p.Children) { // part was a child of p already
		i = len(p.Children)
	}
	p.Children = append(p.Children[:i], append([]*Part{part}, p.Children[i:]...)...)
	part.Parent = p
	p.Touch()
	return nil
}

// IsAncestorOf reports whether p is q or one of q's ancestors.
func (p *Part) IsAncestorOf(q *Part) bool {
	for a := q; a != nil; a = a.Parent {
		if a == p {
			return true
		}
	}
	return false
}

// Unlink takes p out of its parent.
func (p *Part) Unlink() {
	par := p.Parent
	if par == nil {
		return
	}
	for i, c := range par.Children {
		if c == p {
			par.Children = append(par.Children[:i:i], par.Children[i+1:]...)
			break
		}
	}
	p.Parent = nil
	par.Touch()
}

// Index is p's position among its siblings.
func (p *Part) Index() int {
	for i, c := range p.Parent.Children {
		if c == p {
			return i
		}
	}
	return -1
}

// MakeBoundary returns a fresh boundary string.
func MakeBoundary() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported systems
	}
	return "=_luamilter_" + hex.EncodeToString(b[:])
}
