package policy_test

import (
	"bufio"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// smtpSink is a small SMTP server on loopback that stores what it is
// sent, standing in for the MTA msg:inject submits to. A recipient
// whose local part starts with "reject" is refused with 550, a sender
// starting with "tempfail" with 451, so tests can see the relay's
// refusals reach the script.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	got  []sunkMessage
}

// sunkMessage is one message the sink accepted.
type sunkMessage struct {
	From string
	To   []string
	Data string // as sent, dot-stuffing removed, CRLF line ends
}

// startSMTPSink listens on 127.0.0.1 until the test ends.
func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	return s
}

// messages returns what the sink accepted so far. Every submission
// finishes before msg:inject returns, so no waiting is needed.
func (s *smtpSink) messages() []sunkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunkMessage(nil), s.got...)
}

func (s *smtpSink) serve(c net.Conn) {
	tp := textproto.NewConn(c)
	reply := func(line string) bool { return tp.PrintfLine("%s", line) == nil }
	if !reply("220 sink.test ESMTP") {
		return
	}
	var cur sunkMessage
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		addr := func(prefix string) string {
			a := strings.TrimPrefix(arg, prefix)
			if i := strings.Index(a, ">"); i >= 0 {
				a = a[:i]
			}
			return strings.TrimPrefix(a, "<")
		}
		ok := true
		switch strings.ToUpper(verb) {
		case "EHLO":
			ok = reply("250-sink.test") && reply("250 8BITMIME")
		case "HELO", "NOOP":
			ok = reply("250 ok")
		case "MAIL":
			cur = sunkMessage{From: addr("FROM:")}
			if strings.HasPrefix(cur.From, "tempfail") {
				ok = reply("451 4.3.0 try again later")
			} else {
				ok = reply("250 ok")
			}
		case "RCPT":
			a := addr("TO:")
			if strings.HasPrefix(a, "reject") {
				ok = reply("550 5.1.1 no such user")
				break
			}
			cur.To = append(cur.To, a)
			ok = reply("250 ok")
		case "DATA":
			if !reply("354 go ahead") {
				return
			}
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			// DotReader turns CRLF into LF; store what was on the wire.
			cur.Data = strings.ReplaceAll(string(data), "\n", "\r\n")
			s.mu.Lock()
			s.got = append(s.got, cur)
			s.mu.Unlock()
			ok = reply("250 2.0.0 queued as SINK1")
		case "RSET":
			cur = sunkMessage{}
			ok = reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			ok = reply("502 5.5.2 unknown command")
		}
		if !ok {
			return
		}
	}
}

// headerOf parses the header fields of a sunk message.
func headerOf(t *testing.T, m sunkMessage) textproto.MIMEHeader {
	t.Helper()
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(m.Data))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("parse sunk message: %v\n%s", err, m.Data)
	}
	return h
}
