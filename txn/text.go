package txn

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"

	charsets "github.com/luamilter/luamilter/internal/charset"
)

// IsText reports whether p is a text part a script reads with text():
// a text/* leaf that is not an attachment.
func (p *Part) IsText() bool {
	if p.Container() {
		return false
	}
	mt, _ := p.MediaType()
	att, _ := p.Disposition()
	return strings.HasPrefix(mt, "text/") && !att
}

// Charset is the part's declared charset, lower case ("us-ascii" when
// none is given).
func (p *Part) Charset() string {
	_, params := p.MediaType()
	if cs := strings.ToLower(strings.TrimSpace(params["charset"])); cs != "" {
		return cs
	}
	return "us-ascii"
}

// Text returns a text part's content as UTF-8. Content that does not
// decode (a malformed transfer encoding, bytes invalid in the charset, an
// unknown charset) is passed through as it stands.
func (p *Part) Text() string {
	return spansText(p.spans())
}

// IsASCII reports whether s is 7-bit text.
func IsASCII(s string) bool {
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
	s = CRLF(s)
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// chooseCTE picks the lightest transfer encoding that is safe for b.
func chooseCTE(b []byte) string {
	if IsASCII(string(b)) {
		for _, line := range bytes.Split(b, []byte("\r\n")) {
			if len(line) > 998 {
				return "quoted-printable"
			}
		}
		return "7bit"
	}
	return "quoted-printable"
}

// SetText replaces p's content with text as mediatype in charset, setting
// Content-Type and Content-Transfer-Encoding. A container becomes a leaf.
func (p *Part) SetText(text, mediatype, charset string) error {
	if mediatype == "" {
		mediatype = "text/plain"
	}
	if charset == "" {
		charset = "utf-8"
	}
	charset = strings.ToLower(charset)
	b, err := charsets.Encode(normalizeLines(text), charset)
	if err != nil {
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
	p.SetHeader("Content-Type", []string{" " + ct}, "replace")
	p.SetHeader("Content-Transfer-Encoding", []string{" " + cte}, "replace")
	if p.Top && len(p.msg.HeaderValues("MIME-Version")) == 0 {
		p.msg.SetHeader("MIME-Version", []string{" 1.0"}, "append")
	}
	p.becomeLeaf(body)
	return nil
}

// becomeLeaf makes p a leaf with the given encoded body.
func (p *Part) becomeLeaf(body string) {
	for _, c := range p.Children {
		c.Parent = nil
	}
	p.Children, p.Boundary, p.Preamble, p.Epilogue = nil, "", "", ""
	p.Body = body
	p.Touch()
}

// NewPart builds an unlinked part of mediatype whose content is data,
// transfer-encoded with cte (Momentum's EC_MIME_TE_* number).
func (m *Message) NewPart(mediatype, data string, cte int) (*Part, error) {
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
	p := &Part{msg: m, Body: body, BodyStart: -1, BodyEnd: -1, edited: true,
		Made: &Made{Data: data, CTE: name}}
	p.Headers = []Field{{Name: "Content-Type", Value: " " + mediatype, Orig: -1}}
	if name != "7bit" {
		p.Headers = append(p.Headers, Field{Name: "Content-Transfer-Encoding", Value: " " + name, Orig: -1})
	}
	return p, nil
}

// NewContainer builds an unlinked multipart part.
func (m *Message) NewContainer(mediatype, boundary string) (*Part, error) {
	if !strings.HasPrefix(strings.ToLower(mediatype), "multipart/") {
		return nil, fmt.Errorf("container type must be multipart/*, got %q", mediatype)
	}
	if boundary == "" {
		boundary = MakeBoundary()
	}
	if len(boundary) > 70 || strings.ContainsAny(boundary, "\r\n") {
		return nil, fmt.Errorf("invalid boundary %q (at most 70 characters, one line)", boundary)
	}
	ct := mime.FormatMediaType(mediatype, map[string]string{"boundary": boundary})
	if ct == "" {
		return nil, fmt.Errorf("invalid media type %q", mediatype)
	}
	return &Part{msg: m, Boundary: boundary, Epilogue: "\r\n", BodyStart: -1, BodyEnd: -1, edited: true,
		Headers: []Field{{Name: "Content-Type", Value: " " + ct, Orig: -1}}}, nil
}

// NewLeaf returns an empty new part of m, to be filled with SetText.
func (m *Message) NewLeaf() *Part { return &Part{msg: m, BodyStart: -1, BodyEnd: -1} }
