package policy

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message/textproto"
	lua "github.com/yuin/gopher-lua"
)

// mimePart is one node of msg:mime()'s tree. The top part is the message
// itself: its header methods edit the message's header fields. A part
// read from the message keeps its received bytes (raw) and is written out
// unchanged unless it or a descendant was edited, so editing one part of
// a large message leaves the others byte for byte as they came.
//
// The tree is built with go-message: textproto.ReadHeader parses each
// part's header and textproto.MultipartReader splits a multipart body.
// go-message does not report where a part lies in the message, so the
// part found by the reader is located in the body by its bytes; that gives
// .body_start/.body_end and the preamble and epilogue, which are kept.
type mimePart struct {
	msg    *message
	top    bool
	parent *mimePart

	headers []hdr  // the part's header fields (unused for the top part)
	body    string // leaf: encoded body as it stands
	raw     string // part as received (header, blank line, body); "" if new

	// container parts
	boundary     string
	preamble     string // everything before the first delimiter line
	epilogue     string // everything after "--boundary--"
	children     []*mimePart
	unterminated bool // the received body lacked the close delimiter

	bodyStart, bodyEnd int // offsets in msg:raw() when parsed; -1 if new
	edited             bool
	ud                 *lua.LUserData

	// made is the content msg:makePart was given, for parts made that
	// way: on Momentum body_start and body_end select the slice of it
	// the part carries.
	made *madeContent
}

// madeContent is a made part's content before transfer encoding.
type madeContent struct {
	data string // as the script gave it: the offsets count its bytes
	cte  string
}

// setBounds implements assigning .body_start and .body_end of a part
// from msg:makePart: the part then carries content[start:end], as the
// offsets into its content object select on Momentum. The documented
// use (0 and #content after makePart) leaves the content whole. A
// parsed part's offsets describe where it lies in the message and can't
// be moved.
func (p *mimePart) setBounds(start, end int) error {
	if p.made == nil {
		return errors.New("body_start and body_end can only be set on a part from msg:makePart")
	}
	n := len(p.made.data)
	if start < 0 || end < start || end > n {
		return fmt.Errorf("body_start %d and body_end %d must satisfy 0 <= body_start <= body_end <= %d (the content's length)", start, end, n)
	}
	content := p.made.data[start:end]
	if p.made.cte != "base64" && p.made.cte != "binary" {
		content = normalizeLines(content)
	}
	body, err := encodeCTE([]byte(content), p.made.cte)
	if err != nil {
		return err
	}
	p.body, p.bodyStart, p.bodyEnd = body, start, end
	p.touch()
	return nil
}

// errReadOnly is raised by edits of a tree from msg:mime() or msg:mime(true).
var errReadOnly = errors.New("the MIME tree is read-only: call msg:mime(false) before changing it")

// parseTree builds the MIME tree of the current message.
func (m *message) parseTree() (*mimePart, error) {
	body, err := m.currentBody()
	if err != nil {
		return nil, err
	}
	top := &mimePart{msg: m, top: true, raw: "", body: body}
	base := m.headerBlockSize() + 2
	top.bodyStart, top.bodyEnd = base, base+len(body)
	top.split(body, base, 0)
	return top, nil
}

// maxDepth bounds nesting so a hostile message can't recurse without end.
const maxDepth = 50

// parsePart parses one part's bytes (header, blank line, body) found at
// offset base of msg:raw().
func parsePart(m *message, raw string, base, depth int) *mimePart {
	p := &mimePart{msg: m, raw: raw}
	head, body, off := splitHead(raw)
	p.headers = readHeaderFields(head)
	p.body = body
	p.bodyStart, p.bodyEnd = base+off, base+len(raw)
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

// readHeaderFields parses a header block with go-message, keeping each
// field's name and raw value (folding included) as received.
func readHeaderFields(head string) []hdr {
	if head == "" {
		return nil
	}
	h, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(head + "\r\n")))
	var out []hdr
	for f := h.Fields(); f.Next(); {
		b, err := f.Raw()
		if err != nil {
			continue
		}
		name, value, ok := strings.Cut(string(b), ":")
		if !ok {
			continue
		}
		value = strings.TrimSuffix(value, "\r\n")
		out = append(out, hdr{name: strings.TrimRight(name, " \t"), value: value, orig: -1})
	}
	return out
}

// split turns p into a container when its Content-Type is multipart with a
// boundary that occurs in body. Otherwise (including a boundary that never
// occurs) p stays a leaf.
func (p *mimePart) split(body string, base, depth int) {
	mt, params := p.mediaType()
	b := params["boundary"]
	if !strings.HasPrefix(mt, "multipart/") || b == "" || depth >= maxDepth {
		return
	}
	dash := "--" + b
	mr := textproto.NewMultipartReader(strings.NewReader(body), b)
	cursor := 0
	var kids []*mimePart
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
			p.preamble = body[:pos]
			if !strings.HasSuffix(body[pos:pos+eol+1], "\r\n") {
				nl = "\n"
			}
		}
		hstart := pos + eol + 1
		end := locate(body, hstart, int(n), nl+dash)
		kids = append(kids, parsePart(p.msg, body[hstart:end], base+hstart, depth+1))
		cursor = end
	}
	if len(kids) == 0 {
		return
	}
	p.boundary, p.children = b, kids
	for _, k := range kids {
		k.parent = p
	}
	if closed {
		if i := strings.Index(body[cursor:], dash+"--"); i >= 0 {
			p.epilogue = body[cursor+i+len(dash)+2:]
			return
		}
	}
	p.unterminated = true
	p.epilogue = "\r\n"
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

// headerList returns the part's header fields (the message's for the top).
func (p *mimePart) headerList() []hdr {
	if p.top {
		return p.msg.headers
	}
	return p.headers
}

// headerValue is the first value of a field, unfolded and decoded.
func (p *mimePart) headerValue(name string) string {
	for _, h := range p.headerList() {
		if strings.EqualFold(h.name, name) {
			return decodeHeader(h.value)
		}
	}
	return ""
}

// setHeader edits the part's fields like msg:header.
func (p *mimePart) setHeader(name string, values []string, mode string) {
	if p.top {
		p.msg.setHeader(name, values, mode)
		return
	}
	tmp := &message{headers: p.headers}
	tmp.setHeader(name, values, mode)
	p.headers = tmp.headers
	p.touch()
}

// mediaType is the part's lower-case media type and parameters, with the
// RFC 2045 default for a part without (or with a broken) Content-Type.
func (p *mimePart) mediaType() (string, map[string]string) {
	v := p.headerValue("Content-Type")
	if v != "" {
		if mt, params, err := mime.ParseMediaType(v); err == nil {
			return strings.ToLower(mt), params
		}
		if mt, _, _ := strings.Cut(v, ";"); strings.Contains(mt, "/") {
			return strings.ToLower(strings.TrimSpace(mt)), map[string]string{}
		}
	}
	if p.parent != nil {
		if mt, _ := p.parent.mediaType(); mt == "multipart/digest" {
			return "message/rfc822", map[string]string{}
		}
	}
	return "text/plain", map[string]string{"charset": "us-ascii"}
}

// encoding is the part's Content-Transfer-Encoding, lower case.
func (p *mimePart) encoding() string {
	e := strings.ToLower(strings.TrimSpace(p.headerValue("Content-Transfer-Encoding")))
	if e == "" {
		return "7bit"
	}
	return e
}

// disposition reports whether the part is an attachment and its file name
// (Content-Disposition filename, else Content-Type name).
func (p *mimePart) disposition() (attachment bool, filename string) {
	disp, dparams, _ := mime.ParseMediaType(p.headerValue("Content-Disposition"))
	_, cparams := p.mediaType()
	filename = dparams["filename"]
	if filename == "" {
		filename = cparams["name"]
	}
	disp = strings.ToLower(disp)
	return disp == "attachment" || (filename != "" && disp != "inline"), filename
}

// container reports whether p holds parts.
func (p *mimePart) container() bool { return p.boundary != "" }

// touch marks p changed, so it is written out from its fields.
func (p *mimePart) touch() { p.edited = true }

// dirty reports whether p or a part below it changed.
func (p *mimePart) dirty() bool {
	if p.edited {
		return true
	}
	for _, c := range p.children {
		if c.dirty() {
			return true
		}
	}
	return false
}

// clean marks the tree as written; offsets keep describing the old body.
func (p *mimePart) clean() {
	if p.dirty() {
		p.raw = ""
	}
	p.edited = false
	for _, c := range p.children {
		c.clean()
	}
}

// writeBody writes the part's body: a leaf's encoded content, or the
// delimited children of a container.
func (p *mimePart) writeBody(w io.Writer) error {
	if !p.container() {
		_, err := io.WriteString(w, p.body)
		return err
	}
	var b bytes.Buffer
	flush := func() error {
		_, err := w.Write(b.Bytes())
		b.Reset()
		return err
	}
	b.WriteString(p.preamble)
	for i, c := range p.children {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("--" + p.boundary + "\r\n")
		if err := flush(); err != nil {
			return err
		}
		if err := c.writePart(w); err != nil {
			return err
		}
	}
	if len(p.children) > 0 {
		b.WriteString("\r\n")
	}
	b.WriteString("--" + p.boundary + "--")
	b.WriteString(p.epilogue)
	return flush()
}

// writePart writes a part with its header: unchanged parts as received.
func (p *mimePart) writePart(w io.Writer) error {
	if p.raw != "" && !p.dirty() {
		_, err := io.WriteString(w, p.raw)
		return err
	}
	if _, err := io.WriteString(w, p.headerBlock()); err != nil {
		return err
	}
	return p.writeBody(w)
}

// crlf turns bare LF line ends into CRLF.
func crlf(s string) string {
	// Received folded values already end their lines in CRLF.
	if strings.Count(s, "\n") == strings.Count(s, "\r\n") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// walk visits p and its descendants depth first.
func (p *mimePart) walk(fn func(*mimePart)) {
	fn(p)
	for _, c := range p.children {
		c.walk(fn)
	}
}

// next is the part after p in depth-first order (Momentum's .thread).
func (p *mimePart) next() *mimePart {
	if len(p.children) > 0 {
		return p.children[0]
	}
	for cur := p; cur.parent != nil; cur = cur.parent {
		sib := cur.parent.children
		for i, c := range sib {
			if c == cur && i+1 < len(sib) {
				return sib[i+1]
			}
		}
	}
	return nil
}

// root returns the top of p's tree (p itself for an unlinked part).
func (p *mimePart) root() *mimePart {
	for p.parent != nil {
		p = p.parent
	}
	return p
}

// link puts part into p's children at index i.
func (p *mimePart) link(part *mimePart, i int) error {
	if !p.container() {
		return errors.New("the parent must be a multipart container")
	}
	if part.top {
		return errors.New("the message's top part can't be moved")
	}
	if part.isAncestorOf(p) {
		return errors.New("a part can't become its own descendant")
	}
	part.unlink()
	if i > len(p.children) { // part was a child of p already
		i = len(p.children)
	}
	p.children = append(p.children[:i], append([]*mimePart{part}, p.children[i:]...)...)
	part.parent = p
	p.touch()
	return nil
}

// isAncestorOf reports whether p is q or one of q's ancestors.
func (p *mimePart) isAncestorOf(q *mimePart) bool {
	for a := q; a != nil; a = a.parent {
		if a == p {
			return true
		}
	}
	return false
}

// unlink takes p out of its parent.
func (p *mimePart) unlink() {
	par := p.parent
	if par == nil {
		return
	}
	for i, c := range par.children {
		if c == p {
			par.children = append(par.children[:i:i], par.children[i+1:]...)
			break
		}
	}
	p.parent = nil
	par.touch()
}

// index is p's position among its siblings.
func (p *mimePart) index() int {
	for i, c := range p.parent.children {
		if c == p {
			return i
		}
	}
	return -1
}

// makeBoundary returns a fresh boundary string.
func makeBoundary() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported systems
	}
	return "=_luamilter_" + hex.EncodeToString(b[:])
}
