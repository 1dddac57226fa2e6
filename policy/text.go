package policy

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// isText reports whether p is a text part a script reads with text():
// a text/* leaf that is not an attachment.
func (p *mimePart) isText() bool {
	if p.container() {
		return false
	}
	mt, _ := p.mediaType()
	att, _ := p.disposition()
	return strings.HasPrefix(mt, "text/") && !att
}

// charset is the part's declared charset, lower case ("us-ascii" when
// none is given).
func (p *mimePart) charset() string {
	_, params := p.mediaType()
	if cs := strings.ToLower(strings.TrimSpace(params["charset"])); cs != "" {
		return cs
	}
	return "us-ascii"
}

// text returns a text part's content as UTF-8. Content that does not
// decode (a malformed transfer encoding, bytes invalid in the charset, an
// unknown charset) is passed through as it stands.
func (p *mimePart) text() string {
	return spansText(p.spans())
}

// fromUTF8 converts s to charset; ok is false when the charset is unknown
// or can't represent s.
func fromUTF8(s, charset string) ([]byte, bool) {
	switch charset {
	case "utf-8", "utf8", "":
		return []byte(s), true
	case "us-ascii", "ascii":
		return []byte(s), isASCII(s)
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, false
	}
	out, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, false
	}
	return out, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// encodeCTE applies a transfer encoding to content with CRLF line ends.
func encodeCTE(b []byte, cte string) (string, error) {
	switch cte {
	case "base64":
		enc := base64.StdEncoding.EncodeToString(b)
		var out strings.Builder
		for len(enc) > 76 {
			out.WriteString(enc[:76])
			out.WriteString("\r\n")
			enc = enc[76:]
		}
		out.WriteString(enc)
		out.WriteString("\r\n")
		return out.String(), nil
	case "quoted-printable":
		var out bytes.Buffer
		w := quotedprintable.NewWriter(&out)
		if _, err := w.Write(b); err != nil {
			return "", fmt.Errorf("quoted-printable: %w", err)
		}
		if err := w.Close(); err != nil {
			return "", fmt.Errorf("quoted-printable: %w", err)
		}
		return out.String(), nil
	}
	return string(b), nil
}

// normalizeLines gives text CRLF line ends and a final line end.
func normalizeLines(s string) string {
	s = crlf(s)
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// chooseCTE picks the lightest transfer encoding that is safe for b.
func chooseCTE(b []byte) string {
	if isASCII(string(b)) {
		for _, line := range bytes.Split(b, []byte("\r\n")) {
			if len(line) > 998 {
				return "quoted-printable"
			}
		}
		return "7bit"
	}
	return "quoted-printable"
}

// setText replaces p's content with text as mediatype in charset, setting
// Content-Type and Content-Transfer-Encoding. A container becomes a leaf.
func (p *mimePart) setText(text, mediatype, charset string) error {
	if mediatype == "" {
		mediatype = "text/plain"
	}
	if charset == "" {
		charset = "utf-8"
	}
	charset = strings.ToLower(charset)
	b, ok := fromUTF8(normalizeLines(text), charset)
	if !ok {
		return fmt.Errorf("text can't be written in charset %q", charset)
	}
	cte := chooseCTE(b)
	body, err := encodeCTE(b, cte)
	if err != nil {
		return err
	}
	ct := mime.FormatMediaType(mediatype, map[string]string{"charset": charset})
	if ct == "" {
		return fmt.Errorf("invalid media type %q", mediatype)
	}
	p.setHeader("Content-Type", []string{" " + ct}, "replace")
	p.setHeader("Content-Transfer-Encoding", []string{" " + cte}, "replace")
	if p.top && len(p.msg.headerValues("MIME-Version")) == 0 {
		p.msg.setHeader("MIME-Version", []string{" 1.0"}, "append")
	}
	p.becomeLeaf(body)
	return nil
}

// becomeLeaf makes p a leaf with the given encoded body.
func (p *mimePart) becomeLeaf(body string) {
	for _, c := range p.children {
		c.parent = nil
	}
	p.children, p.boundary, p.preamble, p.epilogue = nil, "", "", ""
	p.body = body
	p.touch()
}

// newPart builds an unlinked part of mediatype whose content is data,
// transfer-encoded with cte (Momentum's EC_MIME_TE_* number).
func (m *message) newPart(mediatype, data string, cte int) (*mimePart, error) {
	names := map[int]string{0: "7bit", 1: "8bit", 2: "binary", 3: "base64", 4: "quoted-printable"}
	name, ok := names[cte]
	if !ok {
		return nil, fmt.Errorf("unknown transfer encoding %d (want msys.core.EC_MIME_TE_*)", cte)
	}
	if _, _, err := mime.ParseMediaType(mediatype); err != nil {
		return nil, fmt.Errorf("invalid media type %q: %w", mediatype, err)
	}
	content := []byte(data)
	if name != "base64" && name != "binary" {
		content = []byte(normalizeLines(data))
	}
	body, err := encodeCTE(content, name)
	if err != nil {
		return nil, err
	}
	p := &mimePart{msg: m, body: body, bodyStart: -1, bodyEnd: -1, edited: true,
		made: &madeContent{data: data, cte: name}}
	p.headers = []hdr{{name: "Content-Type", value: " " + mediatype, orig: -1}}
	if name != "7bit" {
		p.headers = append(p.headers, hdr{name: "Content-Transfer-Encoding", value: " " + name, orig: -1})
	}
	return p, nil
}

// newContainer builds an unlinked multipart part.
func (m *message) newContainer(mediatype, boundary string) (*mimePart, error) {
	if !strings.HasPrefix(strings.ToLower(mediatype), "multipart/") {
		return nil, fmt.Errorf("container type must be multipart/*, got %q", mediatype)
	}
	if boundary == "" {
		boundary = makeBoundary()
	}
	if len(boundary) > 70 || strings.ContainsAny(boundary, "\r\n") {
		return nil, fmt.Errorf("invalid boundary %q (at most 70 characters, one line)", boundary)
	}
	ct := mime.FormatMediaType(mediatype, map[string]string{"boundary": boundary})
	if ct == "" {
		return nil, fmt.Errorf("invalid media type %q", mediatype)
	}
	return &mimePart{msg: m, boundary: boundary, epilogue: "\r\n", bodyStart: -1, bodyEnd: -1, edited: true,
		headers: []hdr{{name: "Content-Type", value: " " + ct, orig: -1}}}, nil
}
