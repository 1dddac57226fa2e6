package policy_test

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/internal/poll"
	"github.com/luamilter/luamilter/milter"
)

// bigMessage is a message whose body is n bytes of 76-character lines
// with "needle" in its last line.
func bigMessage(n int) string {
	var b strings.Builder
	b.Grow(n + 200)
	b.WriteString("From: big@example.org\r\nTo: rcpt@example.com\r\nSubject: big\r\n\r\n")
	line := strings.Repeat("abcdefghij", 7) + "klmn\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	b.WriteString("the needle is here\r\n")
	return b.String()
}

// spoolFiles lists luamilter's temporary body files in dir.
func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "luamilter-*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// waitIdle waits until the server has no open session, so every cleanup
// path has run. It synchronises; it does not measure time.
func waitIdle(t *testing.T, s *milttest.Server) {
	t.Helper()
	poll.Until(t, 10*time.Second, "every session to close", func() bool { return s.Milter.OpenSessions() == 0 })
}

// TestLargeMessage sends a 10 MB message through a policy that reads,
// matches and replaces in the body with a 64 KB spool threshold: the body
// and its replacement go through files that are gone afterwards.
func TestLargeMessage(t *testing.T) {
	s := startWire(t, milttest.Options{SpoolThreshold: 64 << 10, MaxMessageSize: 32 << 20}, dataScript(`
local subj = msg:header("Subject")[1]
local m = msg:body_match("the (needle) is")
assert(m and m[1] == "needle", "no match")
assert(#msg:body() > 10000000)
assert(msg:body_replace("needle", "pin") == true)
report(vctx, subj, msg:get_message_size())
vctx:set_code(250, "ok")`))
	src := bigMessage(10 << 20)
	tr := play(t, s, src)
	body, ok := bodyOf(tr)
	want := strings.Replace(src[strings.Index(src, "\r\n\r\n")+4:], "needle", "pin", 1)
	if tr.Final.Action != "accept" || !ok || body != want {
		t.Fatalf("final %+v, body replaced %v (%d bytes, want %d)\n%s", tr.Final, ok, len(body), len(want), s.Logs())
	}
	waitIdle(t, s)
	if f := spoolFiles(t, s.Dir); len(f) != 0 {
		t.Fatalf("temporary files left: %v", f)
	}
}

func TestOversizeMessage(t *testing.T) {
	s := startWire(t, milttest.Options{SpoolThreshold: 16 << 10, MaxMessageSize: 1 << 20}, dataScript(`error("must not run; it names msg:body so the MTA sends the body: " .. #msg:body())`))
	tr := play(t, s, bigMessage(2<<20))
	if tr.Final.Code != 552 || !strings.Contains(tr.Final.Reply, "5.3.4") {
		t.Fatalf("final %+v", tr.Final)
	}
	waitIdle(t, s)
	if f := spoolFiles(t, s.Dir); len(f) != 0 {
		t.Fatalf("temporary files left: %v", f)
	}
}

// TestSpoolRemovedOnEveryPath checks the spool directory after a rejected
// edited message, an RSET after a spooled body, and a client that hangs
// up in the middle of the body.
func TestSpoolRemovedOnEveryPath(t *testing.T) {
	t.Run("rejected after a large edit", func(t *testing.T) {
		s := startWire(t, milttest.Options{SpoolThreshold: 16 << 10}, dataScript(`
msg:body_replace("needle", "pin")
vctx:set_code(550, "5.7.1 no")`))
		tr := play(t, s, bigMessage(1<<20))
		if tr.Final.Code != 550 {
			t.Fatalf("final %+v", tr.Final)
		}
		waitIdle(t, s)
		if f := spoolFiles(t, s.Dir); len(f) != 0 {
			t.Fatalf("temporary files left: %v", f)
		}
	})
	for _, how := range []string{"hang up", "abort", "quit"} {
		t.Run(how+" mid-body", func(t *testing.T) {
			s := startWire(t, milttest.Options{SpoolThreshold: 16 << 10}, dataScript(`error("must not run; it names msg:body so the MTA sends the body: " .. #msg:body())`))
			d := &recordingDialer{}
			c := gomilter.NewClient("unix", s.Socket, gomilter.WithDialer(d),
				gomilter.WithReadTimeout(10*time.Second), gomilter.WithWriteTimeout(10*time.Second))
			sess, err := c.Session(gomilter.NewMacroBag())
			if err != nil {
				t.Fatal(err)
			}
			steps := []func() (*gomilter.Action, error){
				func() (*gomilter.Action, error) { return sess.Conn("c", gomilter.FamilyInet, 25, "192.0.2.1") },
				func() (*gomilter.Action, error) { return sess.Helo("c") },
				func() (*gomilter.Action, error) { return sess.Mail("<a@example.org>", "") },
				func() (*gomilter.Action, error) { return sess.Rcpt("<b@example.com>", "") },
				func() (*gomilter.Action, error) { return sess.DataStart() },
				func() (*gomilter.Action, error) { return sess.HeaderField("Subject", "x", nil) },
				func() (*gomilter.Action, error) { return sess.HeaderEnd() },
			}
			chunk := bytes.Repeat([]byte("0123456789abcdef\r\n"), 2000)
			for i := 0; i < 4; i++ {
				steps = append(steps, func() (*gomilter.Action, error) { return sess.BodyChunk(chunk) })
			}
			for i, step := range steps {
				if act, err := step(); err != nil || act.StopProcessing() {
					t.Fatalf("step %d: %v %v", i, act, err)
				}
			}
			// Body chunks may go unanswered (SMFIP_NR_BODY): wait for the file.
			poll.Until(t, 10*time.Second, "the body spooled to one file", func() bool { return len(spoolFiles(t, s.Dir)) == 1 })
			switch how {
			case "hang up":
				d.conn.Close()
			case "abort":
				if err := sess.Abort(nil); err != nil {
					t.Fatal(err)
				}
				defer sess.Close()
			case "quit":
				sess.Close()
			}
			if how == "abort" {
				// The session stays open after an abort; the file must not.
				// MAIL goes unanswered (no validate_mailfrom), so poll.
				if _, err := sess.Mail("<a@example.org>", ""); err != nil {
					t.Fatal(err)
				}
				poll.Until(t, 10*time.Second, "the spool file to be removed", func() bool { return len(spoolFiles(t, s.Dir)) == 0 })
			} else {
				waitIdle(t, s)
			}
			if f := spoolFiles(t, s.Dir); len(f) != 0 {
				t.Fatalf("temporary files left: %v", f)
			}
		})
	}
}

// recordingDialer keeps the connection so a test can drop it.
type recordingDialer struct{ conn net.Conn }

func (d *recordingDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := net.Dial(network, addr)
	d.conn = c
	return c, err
}

// BenchmarkMessage runs a policy that reads headers and matches the body
// over a 100 KB and a 10 MB message, through the real milter server.
func BenchmarkMessage(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100KB", 100 << 10}, {"10MB", 10 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			s := milttest.Start(b, milttest.Options{Regex: newRegex(), SpoolThreshold: 1 << 20, MaxMessageSize: 64 << 20, Timeout: time.Minute}, `
local mod = {}
function mod:validate_data(msg, ac, vctx)
  local subj = msg:header("Subject")[1]
  local from = msg:address_header("From", "domain")[1]
  if not msg:body_match("the (needle) is") then error("no match") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`)
			src := []byte(bigMessage(size.n))
			benchAccept(b, s, src)
		})
	}
}

// BenchmarkMimeWalk walks the MIME tree of a message with a text part and
// a 10 MB base64 attachment, reading every part's type and the text.
func BenchmarkMimeWalk(b *testing.B) {
	s := milttest.Start(b, milttest.Options{Regex: newRegex(), SpoolThreshold: 1 << 20, MaxMessageSize: 64 << 20, Timeout: time.Minute}, `
local mod = {}
function mod:validate_data(msg, ac, vctx)
  local p, n = msg:mime(), 0
  while p do
    local ct = p:content_type()
    if ct.mimetype == "text/plain" and not p:text():find("needle") then error("text") end
    n = n + 1
    p = p.thread
  end
  if n ~= 3 or not msg:text_match("needle") then error("walk") end
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`)
	var m strings.Builder
	m.WriteString("From: a@example.org\r\nSubject: att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
	m.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nthe needle is here\r\n--b\r\n")
	m.WriteString("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76] + "\r\n"
	for m.Len() < 10<<20 {
		m.WriteString(line)
	}
	m.WriteString("--b--\r\n")
	benchAccept(b, s, []byte(m.String()))
}

// benchAccept times playing msg through s, which must accept it.
func benchAccept(b *testing.B, s *milttest.Server, msg []byte) {
	tx := milter.Transaction{ClientIP: "192.0.2.1", Helo: "h", From: "a@example.org", Rcpts: []string{"b@example.com"}, Message: msg}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr, err := s.Play(tx)
		if err != nil || tr.Final.Action != "accept" {
			b.Fatalf("%+v %v\n%s", tr, err, s.Logs())
		}
	}
}
