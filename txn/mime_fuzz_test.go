package txn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzMimeParse feeds arbitrary messages to the MIME tree: parsing,
// walking, decoding and re-serialising must never panic, and an
// untouched tree must write back exactly the body it was parsed from.
func FuzzMimeParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "policy", "testdata", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--")
	f.Add("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		head, body, ok := strings.Cut(raw, "\r\n\r\n")
		if !ok {
			return
		}
		tree := parsedTree(t, head, body)
		tree.Walk(func(p *Part) {
			p.Content()
		})
		var b strings.Builder
		if err := tree.WriteBody(&b); err != nil {
			t.Fatal(err)
		}
		if !tree.Container() && b.String() != body {
			t.Fatalf("leaf body changed")
		}
		tree.Touch()
		b.Reset()
		if err := tree.WriteBody(&b); err != nil {
			t.Fatal(err)
		}
	})
}

// Content exercises every reader of a part.
func (p *Part) Content() {
	p.MediaType()
	p.Disposition()
	p.Encoding()
	if p.IsText() {
		p.Text()
	}
	p.Next()
}

// parsedTree is the MIME tree of a message with that header block and
// body, parsed as at end of message.
func parsedTree(t testing.TB, head, body string) *Part {
	t.Helper()
	m := &Message{}
	m.Headers = ReadHeaderFields(head + "\r\n")
	m.cur, m.curOK = body, true
	tree, err := m.ParseTree()
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
