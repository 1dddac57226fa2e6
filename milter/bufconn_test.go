package milter_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// stampTwice adds two header fields at end of message, so the final
// reply follows two modification packets.
const stampTwice = `local mod = {}
function mod:validate_data(msg, ac, vctx)
  msg:header("X-One", "1", "append")
  msg:header("X-Two", "2", "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("stamp", mod)`

// writeLog records every write(2)-level Write the server makes on the
// sockets it accepted.
type writeLog struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeLog) add(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Clone(p))
}

func (w *writeLog) snapshot() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.writes...)
}

type recordingListener struct {
	net.Listener
	log *writeLog
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return recordingConn{Conn: c, log: l.log}, nil
}

type recordingConn struct {
	net.Conn
	log *writeLog
}

func (c recordingConn) Write(p []byte) (int, error) {
	c.log.add(p)
	return c.Conn.Write(p)
}

// startServer serves script with the real policy engine on a loopback
// TCP listener wrapped by wrap.
func startServer(t *testing.T, cfg milter.Config, script string, wrap func(net.Listener) net.Listener) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.lua")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := luart.New(luart.Config{Scripts: []string{path}, Libraries: []luart.Library{policy.CoreLibrary()}, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.NewEngine(context.Background(), rt, policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Backend = eng
	cfg.SpoolDir = dir
	if cfg.Needs == nil {
		cfg.Needs = eng.Needs
	}
	srv := milter.NewServer(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		eng.Close(ctx)
	})
	return addr
}

// packetCodes splits a byte stream into milter packets and returns their
// command or reply codes.
func packetCodes(t *testing.T, b []byte) string {
	t.Helper()
	var codes []byte
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("truncated packet header in %q", b)
		}
		n := int(binary.BigEndian.Uint32(b))
		if n < 1 || len(b) < 4+n {
			t.Fatalf("truncated packet in %q", b)
		}
		codes = append(codes, b[4])
		b = b[4+n:]
	}
	return string(codes)
}

// TestRepliesCoalesced checks that every reply burst, including the end of
// message modifications with the final reply, leaves in a single write
// and that the MTA still sees each packet as sent.
func TestRepliesCoalesced(t *testing.T) {
	cases := []struct {
		name  string
		needs milter.Needs
		// replies are the packet codes of each write, in order.
		replies []string
	}{
		{"every event answered", milter.Needs{All: true},
			// negotiation, connect, helo, mail, 2 rcpt, data, 3 headers, eoh, body, eom
			[]string{"O", "c", "c", "c", "c", "c", "c", "c", "c", "c", "c", "c", "iia"}},
		{"by need", milter.Needs{MailReply: true, RcptReply: true, Body: true},
			// negotiation, mail, 2 rcpt, eom
			[]string{"O", "c", "c", "c", "iia"}},
		{"nothing before end of message", milter.Needs{Body: true},
			[]string{"O", "iia"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := &writeLog{}
			needs := tc.needs
			addr := startServer(t, milter.Config{Needs: func() milter.Needs { return needs }}, stampTwice,
				func(ln net.Listener) net.Listener { return recordingListener{Listener: ln, log: log} })
			tr, err := milter.Play("tcp", addr, milter.Transaction{ClientIP: "192.0.2.1", Helo: "client.example",
				From: "a@example.org", Rcpts: []string{"b@example.com", "c@example.com"},
				Message: []byte("Subject: hi\r\nFrom: a@example.org\r\nTo: b@example.com\r\n\r\nbody\r\n")})
			if err != nil {
				t.Fatal(err)
			}
			if tr.Final.Action != "accept" || len(tr.Modifications) != 2 {
				t.Fatalf("outcome %+v", tr)
			}
			var got []string
			for _, w := range log.snapshot() {
				got = append(got, packetCodes(t, w))
			}
			if strings.Join(got, " ") != strings.Join(tc.replies, " ") {
				t.Errorf("writes carried packets %q, want %q", got, tc.replies)
			}
		})
	}
}

// TestReadTimeoutStillApplies checks that the idle deadline, which the
// coalescing connection applies lazily, still ends an idle session.
func TestReadTimeoutStillApplies(t *testing.T) {
	addr := startServer(t, milter.Config{IdleTimeout: 100 * time.Millisecond}, stampTwice, nil)
	client := gomilter.NewClient("tcp", addr, gomilter.WithReadTimeout(5*time.Second), gomilter.WithWriteTimeout(5*time.Second))
	sess, err := client.Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Conn("client.example", gomilter.FamilyInet, 4000, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // well past the 100 ms read timeout
	if _, err := sess.Helo("client.example"); err == nil {
		t.Fatal("session still answers after the read timeout")
	}
}

// bodyProbe reports the body's length, first and last bytes in headers.
const bodyProbe = `local mod = {}
function mod:validate_data(msg, ac, vctx)
  local b = msg:body()
  msg:header("X-Len", tostring(#b), "append")
  msg:header("X-Head", string.sub(b, 1, 8), "append")
  msg:header("X-Tail", string.sub(b, -10, -3), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("probe", mod)`

// TestBodyChunksKeptWithoutCopy guards the adapter's use of Spool.Adopt:
// it keeps go-milter's body chunk buffers, which is only right while
// go-milter reads every packet into a new buffer. If it reused one, the
// first chunks would read as later packets here.
func TestBodyChunksKeptWithoutCopy(t *testing.T) {
	addr := startServer(t, milter.Config{}, bodyProbe, nil)
	body := append(bytes.Repeat([]byte("A"), 70000), "\r\n"...)
	body = append(body, bytes.Repeat([]byte("B"), 70000)...)
	body = append(body, "\r\nZZZZZZZZ\r\n"...)
	tr, err := milter.Play("tcp", addr, milter.Transaction{ClientIP: "192.0.2.1", Helo: "client.example",
		From: "a@example.org", Rcpts: []string{"b@example.com"},
		Message: append([]byte("Subject: big\r\n\r\n"), body...)})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("insert_header 65536 X-Len: %d|insert_header 65536 X-Head: AAAAAAAA|insert_header 65536 X-Tail: ZZZZZZZZ", len(body))
	if got := strings.Join(tr.Modifications, "|"); got != want {
		t.Fatalf("body as the script saw it: %s\nwant %s", got, want)
	}
}
