package txn

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	charsets "github.com/luamilter/luamilter/internal/charset"
)

// A text part is read and edited through spans, so that whatever does not
// decode cleanly is never lost. Received mail is often malformed (a bare
// CR before a QP soft break, a base64 body cut short, bytes that are not
// valid in the declared charset), and a decoder that stops at the first
// fault would silently drop the rest of the part when the edited text is
// written back. Instead the encoded body is cut into spans at line
// boundaries: a span that decodes cleanly can be edited and re-encoded,
// one that does not is kept exactly as received. Inside a decoded span
// the bytes are cut again into lines that convert cleanly from the
// charset (editable text) and lines that don't (kept as decoded bytes).
// Only spans whose text actually changed are re-encoded; every other
// span is written back byte for byte, so a no-op edit changes nothing.

// textSpan is a run of a part's encoded body.
type textSpan struct {
	Raw    string      // encoded bytes as received
	ok     bool        // raw decoded cleanly under the transfer encoding
	dec    []byte      // ok spans: raw with the transfer encoding undone
	pieces []textPiece // ok spans: the decoded bytes, by charset cleanliness
	edited bool        // a piece's text changed: write the span re-encoded
}

// textPiece is a run of a span's decoded bytes.
type textPiece struct {
	Raw    []byte // decoded bytes as received
	Text   string // isText: raw as UTF-8, possibly edited
	IsText bool   // raw converted cleanly from the charset and back
	edited bool
}

// charsetKnown reports whether text in cs can be converted to UTF-8.
func charsetKnown(cs string) bool { return charsets.Known(cs) }

// lines cuts b after each LF; the last line may lack one.
func lines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

// spans cuts the part's encoded body into textSpans and the decoded ones
// into pieces. An unknown transfer encoding or charset gives spans and
// pieces that are kept whole.
func (p *Part) spans() []*textSpan {
	var out []*textSpan
	switch cte := p.Encoding(); cte {
	case "7bit", "8bit", "binary":
		if p.Body != "" {
			out = []*textSpan{{Raw: p.Body, ok: true, dec: []byte(p.Body)}}
		}
	case "quoted-printable":
		out = qpSpans(p.Body)
	case "base64":
		out = base64Spans(p.Body)
	default:
		out = []*textSpan{{Raw: p.Body}}
	}
	cs := p.Charset()
	for _, s := range out {
		if s.ok {
			s.pieces = charsetPieces(s.dec, cs)
		}
	}
	return out
}

// qpSpans splits a quoted-printable body. A physical line is clean when
// it ends in CRLF (or ends the body), holds no other CR or LF, and every
// "=" starts a hex escape or a soft line break; any other line (bare CR,
// bare LF, "=" before a non-hex character, a final "=" with nothing after
// it) is a span of its own, kept as received.
func qpSpans(body string) []*textSpan {
	var out []*textSpan
	var cur *textSpan // the clean span being extended
	for _, line := range lines([]byte(body)) {
		dec, ok := qpLine(line)
		if !ok {
			out = append(out, &textSpan{Raw: string(line)})
			cur = nil
			continue
		}
		if cur == nil {
			cur = &textSpan{ok: true}
			out = append(out, cur)
		}
		cur.Raw += string(line)
		cur.dec = append(cur.dec, dec...)
	}
	return out
}

// qpLine decodes one physical quoted-printable line, reporting false when
// it is malformed. Trailing white space is dropped as RFC 2045 asks.
func qpLine(line []byte) ([]byte, bool) {
	content, end := line, []byte(nil)
	if bytes.HasSuffix(line, []byte("\r\n")) {
		content, end = line[:len(line)-2], []byte("\r\n")
	}
	if bytes.ContainsAny(content, "\r\n") {
		return nil, false
	}
	content = bytes.TrimRight(content, " \t")
	var out []byte
	for i := 0; i < len(content); i++ {
		c := content[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i == len(content)-1 { // soft line break
			if end == nil {
				return nil, false // "=" with no line after it
			}
			return out, true
		}
		if i+2 >= len(content) {
			return nil, false // "=" with one character after it
		}
		h, l := unhex(content[i+1]), unhex(content[i+2])
		if h < 0 || l < 0 {
			return nil, false
		}
		out = append(out, byte(h<<4|l))
		i += 2
	}
	return append(out, end...), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// base64Spans splits a base64 body: the longest run of whole lines from
// the start that decodes completely and exactly is one span, the rest (a
// bad character, misplaced padding, a tail cut short) another, kept as
// received.
func base64Spans(body string) []*textSpan {
	ls := lines([]byte(body))
	var clean []byte // the base64 characters of lines[:good]
	var acc []byte
	good, quad, padded := 0, 0, false
	pads := 0
scan:
	for i, line := range ls {
		for _, c := range line {
			switch {
			case c == ' ' || c == '\t' || c == '\r' || c == '\n':
				continue
			case padded:
				break scan // data after the final padded group
			case c == '=':
				if quad < 2 {
					break scan
				}
				pads++
			case pads > 0 || !isB64(c):
				break scan
			}
			acc = append(acc, c)
			quad = (quad + 1) % 4
			if quad == 0 && pads > 0 {
				padded = true
			}
		}
		if quad == 0 {
			good, clean = i+1, append(clean[:0], acc...)
		}
	}
	raw := string(bytes.Join(ls[:good], nil))
	dec, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil || good == 0 {
		return []*textSpan{{Raw: body}}
	}
	out := []*textSpan{{Raw: raw, ok: true, dec: dec}}
	if rest := body[len(raw):]; rest != "" {
		out = append(out, &textSpan{Raw: rest})
	}
	return out
}

func isB64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// charsetPieces cuts decoded bytes into lines that convert from cs to
// UTF-8 and back unchanged (text) and lines that don't (bytes), merging
// neighbours of one kind. With an unknown charset nothing is text.
func charsetPieces(b []byte, cs string) []textPiece {
	if len(b) == 0 {
		return nil
	}
	if !charsetKnown(cs) {
		return []textPiece{{Raw: b}}
	}
	var out []textPiece
	for _, line := range lines(b) {
		text, ok := lineText(line, cs)
		if n := len(out); n > 0 && out[n-1].IsText == ok {
			out[n-1].Raw = append(out[n-1].Raw, line...)
			out[n-1].Text += text
			continue
		}
		out = append(out, textPiece{Raw: append([]byte(nil), line...), Text: text, IsText: ok})
	}
	return out
}

// lineText converts one line from cs, reporting whether it converts back
// to the same bytes.
func lineText(line []byte, cs string) (string, bool) {
	enc, _, err := charsets.Lookup(cs)
	if err != nil {
		return "", false
	}
	if enc == nil {
		// UTF-8, and undeclared 8-bit text in a us-ascii part read as
		// UTF-8: bytes that are not valid UTF-8 are kept as they are.
		return string(line), utf8.Valid(line)
	}
	out, err := enc.NewDecoder().Bytes(line)
	if err != nil {
		return "", false
	}
	back, err := enc.NewEncoder().Bytes(out)
	if err != nil || !bytes.Equal(back, line) {
		return "", false
	}
	return string(out), true
}

// spansText is what text() shows: decoded text, with whatever did not
// decode as it stands.
func spansText(spans []*textSpan) string {
	var b strings.Builder
	for _, s := range spans {
		if !s.ok {
			b.WriteString(s.Raw)
			continue
		}
		for _, pc := range s.pieces {
			if pc.IsText {
				b.WriteString(pc.Text)
			} else {
				b.Write(pc.Raw)
			}
		}
	}
	return b.String()
}

// Name describes p in error messages: its position in the tree and type.
func (p *Part) Name() string {
	mt, _ := p.MediaType()
	if p.Parent == nil {
		if p.Top {
			return fmt.Sprintf("the message body (%s)", mt)
		}
		return fmt.Sprintf("an unlinked part (%s)", mt)
	}
	var path []string
	for c := p; c.Parent != nil; c = c.Parent {
		path = append([]string{fmt.Sprint(c.Index() + 1)}, path...)
	}
	return fmt.Sprintf("part %s (%s)", strings.Join(path, "."), mt)
}

// ReplaceText runs a replacement over each editable run of a text part's
// decoded content and writes back, re-encoded in the part's charset and
// transfer encoding, only the spans whose text changed; all else is kept
// byte for byte. When the charset can't hold the new text a part that
// decoded cleanly throughout is rewritten in UTF-8; a part with content
// that did not decode is refused with an error naming it, as is a match
// in a part whose charset is unknown, so no edit loses bytes unseen.
func (p *Part) ReplaceText(ctx context.Context, rx Replacer, pattern, repl string) (bool, error) {
	spans := p.spans()
	cs := p.Charset()
	matched, changed, clean := false, false, true
	for _, s := range spans {
		if !s.ok {
			clean = false
			continue
		}
		for i := range s.pieces {
			pc := &s.pieces[i]
			if !pc.IsText {
				clean = false
				if !charsetKnown(cs) {
					// The bytes are searched as they are, only to refuse an
					// edit that can't be written back.
					out, ok, err := rx.ReplaceContext(ctx, string(pc.Raw), pattern, repl)
					if err != nil {
						return false, err
					}
					if ok && out != string(pc.Raw) {
						return false, fmt.Errorf("%s: charset %q is unknown, so its text can't be rewritten", p.Name(), cs)
					}
				}
				continue
			}
			out, ok, err := rx.ReplaceContext(ctx, pc.Text, pattern, repl)
			if err != nil {
				return false, err
			}
			matched = matched || ok
			if ok && out != pc.Text {
				pc.Text, pc.edited, s.edited, changed = out, true, true, true
			}
		}
	}
	if !changed {
		return matched, nil
	}
	cte := p.Encoding()
	if cte == "7bit" || cte == "8bit" || cte == "binary" {
		// A one-span identity body: keep the encoding when it still fits.
		if b, err := spanBytes(spans[0], cs, false); err == nil && (cte != "7bit" || IsASCII(string(b))) {
			p.Body = string(b)
			p.Touch()
			return true, nil
		}
		if !clean && cte != "7bit" {
			return false, fmt.Errorf("%s: the new text can't be written in charset %q", p.Name(), cs)
		}
		cte = "quoted-printable"
	}
	all := false // re-encode every span in UTF-8
	for _, s := range spans {
		if s.edited {
			if _, err := spanBytes(s, cs, false); err != nil {
				if !clean {
					return false, fmt.Errorf("%s: the new text can't be written in charset %q and the part holds content that did not decode", p.Name(), cs)
				}
				all = true
			}
		}
	}
	var body strings.Builder
	for i, s := range spans {
		if !s.edited && !all {
			body.WriteString(s.Raw)
			continue
		}
		b, err := spanBytes(s, cs, all)
		if err != nil {
			return false, fmt.Errorf("%s: %w", p.Name(), err)
		}
		enc, err := encodeSpan(b, cte)
		if err != nil {
			return false, fmt.Errorf("%s: %w", p.Name(), err)
		}
		body.WriteString(enc)
		if cte == "quoted-printable" && i+1 < len(spans) && !bytes.HasSuffix(b, []byte("\r\n")) && !strings.HasSuffix(enc, "\r\n") {
			// The span ended in a soft line break: keep the next one
			// joined to it without running the lines together.
			body.WriteString("=\r\n")
		}
	}
	if all {
		mt, params := p.MediaType()
		params["charset"] = "utf-8"
		p.SetHeader("Content-Type", []string{" " + mime.FormatMediaType(mt, params)}, "replace")
	}
	if cte != p.Encoding() {
		p.SetHeader("Content-Transfer-Encoding", []string{" " + cte}, "replace")
	}
	p.Body = body.String()
	p.Touch()
	return true, nil
}

// spanBytes is a span's content in charset cs (UTF-8 when utf8), with
// edited text converted and everything else as it was decoded.
func spanBytes(s *textSpan, cs string, utf8 bool) ([]byte, error) {
	var b []byte
	for _, pc := range s.pieces {
		switch {
		case !pc.IsText:
			b = append(b, pc.Raw...)
		case utf8:
			b = append(b, pc.Text...)
		case !pc.edited:
			b = append(b, pc.Raw...)
		default:
			enc, err := charsets.Encode(pc.Text, cs)
			if err != nil {
				return nil, fmt.Errorf("the new text can't be written in charset %q", cs)
			}
			b = append(b, enc...)
		}
	}
	return b, nil
}

// encodeSpan transfer-encodes one span's content.
func encodeSpan(b []byte, cte string) (string, error) {
	if cte == "quoted-printable" {
		return qpEncode(b), nil
	}
	return encodeCTE(b, cte)
}

// qpEncode quoted-printable encodes b. Unlike mime/quotedprintable's
// text mode, a lone CR is kept as "=0D" rather than made a line break,
// so content decoded from "=0D" survives; a lone LF (from the new text)
// becomes a line break as there. Lines stay within 76 characters.
func qpEncode(b []byte) string {
	const hexd = "0123456789ABCDEF"
	var out strings.Builder
	col := 0
	emit := func(s string) {
		if col+len(s) > 75 {
			out.WriteString("=\r\n")
			col = 0
		}
		out.WriteString(s)
		col += len(s)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\n' || c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			if c == '\r' {
				i++
			}
			out.WriteString("\r\n")
			col = 0
			continue
		}
		atEOL := i+1 == len(b) || b[i+1] == '\n' || b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n'
		switch {
		case c == '=' || c < ' ' && c != '\t' || c > '~',
			(c == ' ' || c == '\t') && atEOL,
			c == '.' && col == 0 && atEOL:
			emit(string([]byte{'=', hexd[c>>4], hexd[c&15]}))
		default:
			emit(string(c))
		}
	}
	return out.String()
}

// Replacer is the pattern engine ReplaceText edits text with (msys.pcre's
// in luamilter).
type Replacer interface {
	// ReplaceContext replaces every match of pattern in subject,
	// reporting whether there was one; it gives up when ctx ends.
	ReplaceContext(ctx context.Context, subject, pattern, repl string) (string, bool, error)
}
