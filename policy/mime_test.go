package policy_test

import (
	"bufio"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// walkLua lists every part in .thread order as "type[;charset][;enc][;att][;file]".
const walkLua = `
local out = {}
local p = msg:mime()
while p do
  local ct = p:content_type()
  local s = ct.mimetype
  if ct.charset then s = s .. ";" .. ct.charset end
  s = s .. ";" .. ct.encoding
  if ct.is_attachment then s = s .. ";att" end
  if ct.filename then s = s .. ";" .. ct.filename end
  if p.parts then s = s .. ";parts=" .. #p.parts end
  out[#out+1] = s
  p = p.thread
end
report(vctx, unpack(out))
`

func TestMimeTree(t *testing.T) {
	cases := []struct {
		fixture string
		want    []string
	}{
		{"alternative.eml", []string{
			"multipart/alternative;7bit;parts=2",
			"text/plain;iso-8859-1;quoted-printable",
			"text/html;utf-8;base64"}},
		{"mixed.eml", []string{
			"multipart/mixed;7bit;parts=4",
			"multipart/alternative;7bit;parts=2",
			"text/plain;us-ascii;7bit",
			"text/html;us-ascii;7bit",
			"application/pdf;base64;att;report.pdf",
			"image/png;base64;att;logo.png",
			"text/plain;utf-8;8bit"}},
		{"broken-boundary.eml", []string{"multipart/mixed;7bit"}},
		{"no-final-boundary.eml", []string{
			"multipart/mixed;7bit;parts=2",
			"text/plain;7bit",
			"text/plain;7bit"}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(walkLua))
			tr := play(t, s, fixture(t, tc.fixture))
			got := reported(t, s, tr)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(tr.Modifications) != 0 {
				t.Fatalf("reading the tree changed the message: %v", tr.Modifications)
			}
		})
	}
}

// TestMimeOffsets checks body_start/body_end against msg:raw().
func TestMimeOffsets(t *testing.T) {
	s := startMsg(t, milttest.Options{}, dataScript(`
local raw = msg:raw()
local out = {}
local p = msg:mime()
while p do
  out[#out+1] = string.sub(raw, p.body_start + 1, p.body_end)
  p = p.thread
end
report(vctx, unpack(out))`))
	got := reported(t, s, play(t, s, fixture(t, "alternative.eml")))
	want := []string{"", "Caf=E9 cr=E8me, tr=E8s bien.", "PHA+R3LDvMOfZSwgPGI+V2VsdDwvYj48L3A+Cg==\r\n"}
	if len(got) != 3 || !strings.HasPrefix(got[0], "This is a multi-part") || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("part bodies by offset: %q", got)
	}
}

func TestMimeText(t *testing.T) {
	cases := []struct {
		name, fixture, lua string
		want               []string
	}{
		{"part texts decoded", "alternative.eml",
			`local p = msg:mime().parts report(vctx, p[1]:text(), p[2]:text())`,
			[]string{"Café crème, très bien.", "<p>Grüße, <b>Welt</b></p>\n"}},
		{"msg:text table", "alternative.eml",
			`local t = msg:text() report(vctx, type(t), #t, t[1])`,
			[]string{"table", "2", "Café crème, très bien."}},
		{"msg:text skips attachments", "mixed.eml",
			`local t = msg:text() report(vctx, #t, t[3])`,
			[]string{"3", "Gruß"}},
		{"msg:text single", "single",
			`report(vctx, msg:text())`, []string{"Hello world.\r\n"}},
		{"non-text part text is nil", "mixed.eml",
			`report(vctx, tostring(msg:mime().parts[2]:text()))`, []string{"nil"}},
		{"container text is nil", "mixed.eml",
			`report(vctx, tostring(msg:mime():text()))`, []string{"nil"}},
		{"text_match finds decoded", "alternative.eml",
			`local m = msg:text_match("(*UTF)cr(.)me") report(vctx, m[0], m[1])`, []string{"crème", "è"}},
		{"text_match false", "alternative.eml",
			`report(vctx, tostring(msg:text_match("absent")))`, []string{"false"}},
		{"body_match sees encoding", "alternative.eml",
			`report(vctx, tostring(msg:body_match("Caf=E9") ~= false), tostring(msg:body_match("Café")))`, []string{"true", "false"}},
		{"raw_match sees headers", "alternative.eml",
			`report(vctx, msg:raw_match("Subject: (\\w+)")[1])`, []string{"alternative"}},
		{"part body_match", "mixed.eml",
			`report(vctx, msg:mime().parts[1].parts[1]:body_match("report (\\w+)")[1])`, []string{"attached"}},
		{"part raw_match sees part headers", "mixed.eml",
			`report(vctx, msg:mime().parts[2]:raw_match("filename=\"([^\"]+)\"")[1])`, []string{"report.pdf"}},
		{"part text_match", "mixed.eml",
			`report(vctx, tostring(msg:mime().parts[4]:text_match("(*UTF)Gru(.)")[1]))`, []string{"ß"}},
		{"part header", "mixed.eml",
			`report(vctx, msg:mime().parts[2]:header("content-disposition")[1])`, []string{`attachment; filename="report.pdf"`}},
		{"top header is message header", "mixed.eml",
			`report(vctx, msg:mime():header("Subject")[1])`, []string{"report with attachments"}},
		{"part address_header", "mixed.eml",
			`report(vctx, msg:mime():address_header("From", "domain")[1])`, []string{"example.org"}},
		{"content_type positions", "mixed.eml",
			`local c = msg:mime().parts[2]:content_type() report(vctx, c[1], tostring(c[2]), c[3], tostring(c[4]), c[5])`,
			[]string{"application/pdf", "nil", "base64", "true", "report.pdf"}},
		{"parts nil on leaf", "mixed.eml",
			`report(vctx, tostring(msg:mime().parts[2].parts))`, []string{"nil"}},
		{"same part same object", "mixed.eml",
			`local m = msg:mime() report(vctx, tostring(m.parts[1] == m.thread), tostring(msg:mime() == m))`, []string{"true", "true"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			src := plainMsg
			if tc.fixture != "single" {
				src = fixture(t, tc.fixture)
			}
			tr := play(t, s, src)
			wantReported(t, s, tr, tc.want)
			if len(tr.Modifications) != 0 {
				t.Fatalf("reading changed the message: %v", tr.Modifications)
			}
		})
	}
}

// parsed is a received replacement body parsed with the standard library,
// so the edits are checked by an independent MIME reader.
type parsed struct {
	types  []string
	bodies []string
}

func parseMultipart(t *testing.T, contentType, body string) parsed {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("content type %q: %v", contentType, err)
	}
	var out parsed
	if !strings.HasPrefix(mt, "multipart/") {
		return parsed{types: []string{mt}, bodies: []string{body}}
	}
	r := multipart.NewReader(strings.NewReader(body), params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("replacement body does not parse: %v\n%s", err, body)
			}
			return out
		}
		ct := p.Header.Get("Content-Type")
		b := new(strings.Builder)
		br := bufio.NewReader(p)
		br.WriteTo(b)
		sub, _, _ := mime.ParseMediaType(ct)
		out.types = append(out.types, sub)
		out.bodies = append(out.bodies, b.String())
	}
}

func TestMimeEdits(t *testing.T) {
	cases := []struct {
		name, fixture, lua string
		types              []string
		check              func(t *testing.T, body string, p parsed)
	}{
		{"unlink attachment", "mixed.eml",
			`local m = msg:mime(false) m.parts[2]:unlink() m.parts[2]:unlink()`,
			[]string{"multipart/alternative", "text/plain"}, func(t *testing.T, body string, p parsed) {
				orig := fixture(t, "mixed.eml")
				// The untouched alternative part is copied byte for byte.
				alt := orig[strings.Index(orig, "Content-Type: multipart/alternative") : strings.Index(orig, "--inner--")+len("--inner--\r\n")]
				if !strings.Contains(body, alt) {
					t.Fatalf("untouched part not kept byte for byte:\n%s", body)
				}
			}},
		{"add disclaimer part", "alternative.eml",
			`local m = msg:mime(false) m:addLastChild(msg:makePart("text/plain", "-- \nSent through luamilter"))`,
			[]string{"text/plain", "text/html", "text/plain"}, func(t *testing.T, body string, p parsed) {
				if p.bodies[2] != "-- \r\nSent through luamilter\r\n" {
					t.Fatalf("new part body %q", p.bodies[2])
				}
			}},
		{"add first child base64", "alternative.eml",
			`local m = msg:mime(false) m:addFirstChild(msg:makePart("application/octet-stream", "\0\1\2", msys.core.EC_MIME_TE_BASE64))`,
			[]string{"application/octet-stream", "text/plain", "text/html"}, func(t *testing.T, body string, p parsed) {
				if strings.TrimSpace(p.bodies[0]) != "AAEC" {
					t.Fatalf("base64 part %q", p.bodies[0])
				}
			}},
		{"insertBefore and insertAfter", "alternative.eml",
			`local m = msg:mime(false)
			 m.parts[2]:insertBefore(msg:makePart("text/x-b", "b"))
			 m.parts[1]:insertAfter(msg:makePart("text/x-a", "a"))`,
			[]string{"text/plain", "text/x-a", "text/x-b", "text/html"}, nil},
		{"re-add last child moves it", "alternative.eml",
			`local m = msg:mime(false) m:addLastChild(m.parts[1])`,
			[]string{"text/html", "text/plain"}, nil},
		{"move part", "alternative.eml",
			`local m = msg:mime(false) m.parts[1]:insertBefore(m.parts[2])`,
			[]string{"text/html", "text/plain"}, nil},
		{"nested container", "alternative.eml",
			`local m = msg:mime(false)
			 local c = msg:makeContainer("multipart/related")
			 c:addLastChild(msg:makePart("text/x-one", "1"))
			 m:addLastChild(c)`,
			[]string{"text/plain", "text/html", "multipart/related"}, func(t *testing.T, body string, p parsed) {
				if !strings.Contains(body, "Content-Type: text/x-one") {
					t.Fatalf("nested part missing:\n%s", body)
				}
			}},
		{"part text setter", "alternative.eml",
			`local m = msg:mime(false) m.parts[1]:text("Neuer Text: Grüße")`,
			[]string{"text/plain", "text/html"}, func(t *testing.T, body string, p parsed) {
				if p.bodies[0] != "Neuer Text: Gr=C3=BC=C3=9Fe\r\n" {
					t.Fatalf("re-encoded part %q", p.bodies[0])
				}
			}},
		{"part header edit", "alternative.eml",
			`local m = msg:mime(false) m.parts[2]:header("X-Part", "yes")`,
			[]string{"text/plain", "text/html"}, func(t *testing.T, body string, p parsed) {
				if !strings.Contains(body, "X-Part: yes\r\n") {
					t.Fatalf("part header missing:\n%s", body)
				}
			}},
		{"text_replace keeps charset and encoding", "alternative.eml",
			`local ok = msg:text_replace("très", "assez") assert(ok == true)`,
			[]string{"text/plain", "text/html"}, func(t *testing.T, body string, p parsed) {
				if p.bodies[0] != "Caf=E9 cr=E8me, assez bien." {
					t.Fatalf("qp latin-1 part %q", p.bodies[0])
				}
				if !strings.Contains(body, "PHA+R3LDvMOfZSwgPGI+V2VsdDwvYj48L3A+Cg==") {
					t.Fatalf("untouched html part changed:\n%s", body)
				}
			}},
		{"text_replace base64", "alternative.eml",
			`assert(msg:mime(false).parts[2]:text_replace("Welt", "World") == true)`,
			[]string{"text/plain", "text/html"}, func(t *testing.T, body string, p parsed) {
				if !strings.Contains(body, "PHA+R3LDvMOfZSwgPGI+V29ybGQ8L2I+PC9wPgo=") {
					t.Fatalf("base64 part not re-encoded:\n%s", body)
				}
			}},
		{"missing final boundary gets one", "no-final-boundary.eml",
			`local m = msg:mime(false) m.parts[1]:unlink()`,
			[]string{"text/plain"}, func(t *testing.T, body string, p parsed) {
				if !strings.Contains(p.bodies[0], "second part, cut off") || !strings.Contains(body, "--b1--") {
					t.Fatalf("body:\n%s", body)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			src := fixture(t, tc.fixture)
			tr := play(t, s, src)
			if tr.Final.Action != "accept" {
				t.Fatalf("final %+v\n%s", tr.Final, s.Logs())
			}
			body, ok := bodyOf(tr)
			if !ok {
				t.Fatalf("body not replaced: %v", tr.Modifications)
			}
			if len(tr.Modifications) != 1 {
				t.Fatalf("want only the body change, got %v", tr.Modifications)
			}
			msg, err := mail.ReadMessage(strings.NewReader(src))
			if err != nil {
				t.Fatal(err)
			}
			p := parseMultipart(t, msg.Header.Get("Content-Type"), body)
			if strings.Join(p.types, ",") != strings.Join(tc.types, ",") {
				t.Fatalf("parts %v, want %v\n%s", p.types, tc.types, body)
			}
			if tc.check != nil {
				tc.check(t, body, p)
			}
		})
	}
}

func TestMimeWholeBodyText(t *testing.T) {
	s := startMsg(t, milttest.Options{}, dataScript(`msg:text("Nur noch Text: Grüße\n", "text/plain", "iso-8859-1")`))
	tr := play(t, s, fixture(t, "mixed.eml"))
	body, ok := bodyOf(tr)
	if !ok || body != "Nur noch Text: Gr=FC=DFe\r\n" {
		t.Fatalf("body %q (%v)", body, tr.Modifications)
	}
	want := []string{
		`change_header Content-Type[1]: text/plain; charset=iso-8859-1`,
		`change_header Content-Transfer-Encoding[1]: quoted-printable`,
	}
	got := mods(tr)
	for _, w := range want {
		if !strings.Contains(got, w) && !strings.Contains(got, strings.Replace(w, "change_header Content-Transfer-Encoding[1]", "insert_header 65536 Content-Transfer-Encoding", 1)) {
			t.Fatalf("modifications lack %q:\n%s", w, got)
		}
	}
}

func TestMimeErrors(t *testing.T) {
	cases := []struct{ name, lua, log string }{
		{"read-only tree", `msg:mime().parts[1]:unlink()`, "msg:mime(false)"},
		{"read-only header", `msg:mime().parts[1]:header("X", "y")`, "read-only"},
		{"stale tree", `local m = msg:mime(false) msg:body("new\r\n.\r\n") m.parts[1]:unlink()`, "call msg:mime() again"},
		{"leaf parent", `local m = msg:mime(false) m.parts[1]:addLastChild(msg:makePart("text/plain", "x"))`, "must be a multipart container"},
		{"own descendant", `local m = msg:mime(false) local c = msg:makeContainer("multipart/mixed") local d = msg:makeContainer("multipart/mixed") c:addLastChild(d) d:addLastChild(c)`, "own descendant"},
		{"insert next to own descendant", `local m = msg:mime(false) local c = msg:makeContainer("multipart/mixed") m:addLastChild(c) local d = msg:makePart("text/plain", "x") c:addLastChild(d) d:insertBefore(c)`, "own descendant"},
		{"unlink top", `msg:mime(false):unlink()`, "top part can't be unlinked"},
		{"bad cte", `msg:makePart("text/plain", "x", 99)`, "unknown transfer encoding"},
		{"bad container type", `msg:makeContainer("text/plain")`, "multipart/*"},
		{"bad charset", `msg:text("x", "text/plain", "no-such-charset")`, "can't be written in charset"},
		{"bad pattern", `msg:body_match("(")`, "pcre"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			tr := play(t, s, fixture(t, "alternative.eml"))
			if tr.Final.Action != "tempfail" || tr.Final.Code != 451 {
				t.Fatalf("final %+v, want the on-error tempfail\n%s", tr.Final, s.Logs())
			}
			if !strings.Contains(s.Logs(), tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, s.Logs())
			}
		})
	}
}
