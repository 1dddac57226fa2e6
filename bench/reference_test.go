// Package bench holds the benchmark harness that compares luamilter
// running examples/reference-policy.lua with the same policy written in
// plain Go (see README.md and run.sh). This file is the in-process part:
// a Go benchmark that drives the real server the way an MTA that keeps its
// milter connection open does, for profiling with -cpuprofile and
// -memprofile.
package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
)

// referenceMessage is the message milterload sends: 12 header fields, two
// of them folded, and a body of bodySize bytes in CRLF lines.
func referenceMessage(bodySize int) (headers [][2]string, body []byte) {
	for i := 0; i < 9; i++ {
		headers = append(headers, [2]string{fmt.Sprintf("X-Header-%d", i), fmt.Sprintf("value number %d of the benchmark message", i)})
	}
	headers = append(headers,
		[2]string{"Subject", "a perfectly ordinary message\r\n\tfolded onto a second line"},
		[2]string{"From", "Sender <a@example.org>"},
		[2]string{"Received", "from client.example.net (client.example.net [192.0.2.1])\r\n\tby mx.example.com; Tue, 25 Nov 2026 10:00:00 +0000"})
	line := append(bytes.Repeat([]byte("x"), 70), '\r', '\n')
	for len(body) < bodySize {
		body = append(body, line...)
	}
	return headers, body[:bodySize]
}

// BenchmarkReferencePolicy runs clean transactions of the reference policy
// on one kept-open milter session (MAIL, two RCPT, 12 headers, body, end
// of message, ABORT), so the numbers are per message, not per connection.
func BenchmarkReferencePolicy(b *testing.B) {
	for _, mode := range []struct {
		name string
		all  bool
	}{{"need", false}, {"all", true}} {
		for _, size := range []int{4 << 10, 256 << 10} {
			b.Run(fmt.Sprintf("%s/%dk", mode.name, size>>10), func(b *testing.B) {
				src, err := os.ReadFile(filepath.Join("..", "examples", "reference-policy.lua"))
				if err != nil {
					b.Fatal(err)
				}
				srv := milttest.Start(b, milttest.Options{NegotiateAll: mode.all, SpoolThreshold: 1 << 20}, string(src))
				sess, err := srv.Client().Session(gomilter.NewMacroBag())
				if err != nil {
					b.Fatal(err)
				}
				defer sess.Close()
				if _, err := sess.Conn("client.example.net", gomilter.FamilyInet, 40000, "192.0.2.1"); err != nil {
					b.Fatal(err)
				}
				if _, err := sess.Helo("client.example.net"); err != nil {
					b.Fatal(err)
				}
				headers, body := referenceMessage(size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := transaction(sess, headers, body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func transaction(sess *gomilter.ClientSession, headers [][2]string, body []byte) error {
	if _, err := sess.Mail("a@example.org", "SIZE="+strconv.Itoa(len(body)+1024)); err != nil {
		return err
	}
	for _, r := range []string{"b@example.com", "c@example.com"} {
		if _, err := sess.Rcpt(r, ""); err != nil {
			return err
		}
	}
	if _, err := sess.DataStart(); err != nil {
		return err
	}
	for _, h := range headers {
		if _, err := sess.HeaderField(h[0], h[1], nil); err != nil {
			return err
		}
	}
	if _, err := sess.HeaderEnd(); err != nil {
		return err
	}
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 65535)
		if _, err := sess.BodyChunk(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	mods, act, err := sess.End()
	if err != nil {
		return err
	}
	if act.Type != gomilter.ActionAccept || len(mods) != 1 || !strings.EqualFold(mods[0].HeaderName, "X-Policy") {
		return fmt.Errorf("unexpected outcome %v %v", act, mods)
	}
	return sess.Abort(nil)
}
