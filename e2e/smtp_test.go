package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// replyTimeout covers the slowest milter round trip the MTAs allow
// (Sendmail's E=2m end-of-message timeout is never reached in practice).
const replyTimeout = 60 * time.Second

// reply is one SMTP reply, kept exactly as received.
type reply struct {
	code  int
	lines []string // raw lines without CRLF, e.g. "550-5.7.1 first"
}

// String is the reply as the client saw it, lines joined with "\n".
func (r reply) String() string { return strings.Join(r.lines, "\n") }

// text is the reply text without codes, lines joined with "\n".
func (r reply) text() string {
	parts := make([]string, len(r.lines))
	for i, l := range r.lines {
		if len(l) > 4 {
			parts[i] = l[4:]
		}
	}
	return strings.Join(parts, "\n")
}

func (r reply) class() int { return r.code / 100 }

// smtpClient is a minimal SMTP client that exposes raw replies.
type smtpClient struct {
	t        testing.TB
	conn     net.Conn
	r        *bufio.Reader
	greeting reply
}

// dialSMTP connects to the MTA and reads its greeting.
func dialSMTP(t testing.TB, m *mta) *smtpClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.port), 10*time.Second)
	if err != nil {
		t.Fatalf("%s: dial SMTP: %v", m.name, err)
	}
	c := &smtpClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	c.greeting, err = c.readReply()
	if err != nil {
		t.Fatalf("%s: read greeting: %v", m.name, err)
	}
	return c
}

func (c *smtpClient) readReply() (reply, error) {
	var r reply
	if err := c.conn.SetReadDeadline(time.Now().Add(replyTimeout)); err != nil {
		return r, fmt.Errorf("set deadline: %w", err)
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if len(r.lines) > 0 || line != "" {
				return r, fmt.Errorf("reply cut off after %q: %w", r.lines, err)
			}
			return r, fmt.Errorf("read reply: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return r, fmt.Errorf("malformed reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return r, fmt.Errorf("malformed reply line %q", line)
		}
		r.code = code
		r.lines = append(r.lines, line)
		if len(line) == 3 || line[3] != '-' {
			return r, nil
		}
	}
}

// cmd sends one command line and returns the reply.
func (c *smtpClient) cmd(line string) (reply, error) {
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return reply{}, fmt.Errorf("send %q: %w", line, err)
	}
	r, err := c.readReply()
	if err != nil {
		return r, fmt.Errorf("after %q: %w", line, err)
	}
	return r, nil
}

// mustCmd is cmd that fails the test on a transport error.
func (c *smtpClient) mustCmd(line string) reply {
	c.t.Helper()
	r, err := c.cmd(line)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// expect sends a command and fails the test unless the reply has the code.
func (c *smtpClient) expect(line string, code int) reply {
	c.t.Helper()
	r := c.mustCmd(line)
	if r.code != code {
		c.t.Fatalf("%s: got %q, want code %d", line, r.String(), code)
	}
	return r
}

// content sends the message after a 354 reply, dot-stuffed, and returns
// the final reply.
func (c *smtpClient) content(msg string) (reply, error) {
	var b strings.Builder
	for _, l := range strings.SplitAfter(msg, "\r\n") {
		if strings.HasPrefix(l, ".") {
			b.WriteString(".")
		}
		b.WriteString(l)
	}
	if !strings.HasSuffix(msg, "\r\n") {
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		return reply{}, fmt.Errorf("send message: %w", err)
	}
	return c.readReply()
}

// closedByPeer reports whether the server closed the connection: the next
// read sees EOF (or a reset) instead of data or a timeout.
func (c *smtpClient) closedByPeer() bool {
	if err := c.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return false
	}
	_, err := c.r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// closed reports whether the server has closed the connection. When that
// is not expected it sends QUIT instead of waiting for a timeout: a 221
// means the session was still open.
func (c *smtpClient) closed(expected bool) bool {
	if expected {
		return c.closedByPeer()
	}
	r, err := c.cmd("QUIT")
	return err != nil || r.code != 221
}

// txn is one mail transaction.
type txn struct {
	from  string
	rcpts []string
	msg   string // full message text with CRLF line ends
}

// txnResult holds every reply of a transaction. Sending stops at the first
// failed MAIL, at DATA when no recipient was accepted, or at a failed DATA.
type txnResult struct {
	mail  reply
	rcpts []reply
	data  reply // reply to DATA (354 when content was sent)
	final reply // reply after the content
}

// last is the last reply received in the transaction.
func (r txnResult) last() reply {
	switch {
	case r.final.code != 0:
		return r.final
	case r.data.code != 0:
		return r.data
	case len(r.rcpts) > 0:
		return r.rcpts[len(r.rcpts)-1]
	}
	return r.mail
}

// send runs a transaction; transport errors fail the test.
func (c *smtpClient) send(tx txn) txnResult {
	c.t.Helper()
	var res txnResult
	res.mail = c.mustCmd("MAIL FROM:<" + tx.from + ">")
	if res.mail.class() != 2 {
		return res
	}
	accepted := 0
	for _, rc := range tx.rcpts {
		r := c.mustCmd("RCPT TO:<" + rc + ">")
		res.rcpts = append(res.rcpts, r)
		if r.class() == 2 {
			accepted++
		}
	}
	if accepted == 0 {
		c.mustCmd("RSET")
		return res
	}
	res.data = c.mustCmd("DATA")
	if res.data.code != 354 {
		return res
	}
	final, err := c.content(tx.msg)
	if err != nil {
		c.t.Fatal(err)
	}
	res.final = final
	return res
}

// message builds a small RFC 5322 message with CRLF line ends.
func message(from, to, subject string, extra []string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n", from, to, subject)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.e2e@client.test>\r\n", time.Now().UnixNano())
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.String()
}

// uniq returns a token that keeps addresses of different tests and runs apart.
func uniq() string {
	return strconv.FormatInt(time.Now().UnixNano(), 36)
}
