package milter_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/internal/poll"
)

// packet frames a milter command as it goes on the wire.
func packet(code byte, data string) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(1+len(data)))
	return append(append(out, code), data...)
}

// optNeg is the option negotiation an MTA opens with: version 6, every
// action and protocol flag Postfix offers.
func optNeg() []byte {
	data := binary.BigEndian.AppendUint32(nil, 6)
	data = binary.BigEndian.AppendUint32(data, 0x1ff)
	data = binary.BigEndian.AppendUint32(data, 0x1fffff)
	return packet('O', string(data))
}

// rawConn dials the server, negotiates if asked and sends raw bytes.
func rawConn(t *testing.T, srv *milttest.Server, negotiate bool) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", srv.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if negotiate {
		if _, err := c.Write(optNeg()); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var n uint32
		if err := binary.Read(c, binary.BigEndian, &n); err != nil {
			t.Fatalf("negotiation reply: %v", err)
		}
		if _, err := c.Read(make([]byte, n)); err != nil {
			t.Fatalf("negotiation reply: %v", err)
		}
	}
	return c
}

// expectClosed waits until the server closes c, reading whatever replies
// come before.
func expectClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the server did not close the connection within %v", within)
			}
			return
		}
	}
}

func TestMalformedPacketsCloseOnlyTheirConnection(t *testing.T) {
	bigBody := string(bytes.Repeat([]byte("x"), int(gomilter.DataSize64K)+1))
	for _, tc := range []struct {
		name      string
		negotiate bool
		send      []byte
		reason    string
	}{
		{"zero length before negotiation", false, []byte{0, 0, 0, 0}, "length 0"},
		{"zero length after negotiation", true, []byte{0, 0, 0, 0}, "length 0"},
		{"512 MiB claimed before negotiation", false, []byte{0x20, 0, 0, 0, 'O'}, "before negotiation"},
		{"512 MiB claimed after negotiation", true, []byte{0x20, 0, 0, 0, 'B'}, "over the protocol's limit"},
		{"negotiation packet too short", false, packet('O', "\x00\x00\x00\x06"), "before negotiation"},
		{"first command not negotiation", false, packet('C', "host\x00U123456"), "must be option negotiation"},
		{"connect host not NUL-terminated", true, packet('C', "mx.example.org"), "host name is not NUL-terminated"},
		{"connect without family byte", true, packet('C', "mx.example.org\x00"), "no protocol family"},
		{"connect inet without port", true, packet('C', "mx\x004"), "without a port"},
		{"connect address not NUL-terminated", true, packet('C', "mx\x004\x00\x19192.0.2.1"), "address is not NUL-terminated"},
		{"connect unknown family", true, packet('C', "mx\x00X"), "unknown protocol family"},
		{"mail without NUL", true, packet('M', "<a@example.org>"), "not NUL-terminated"},
		{"rcpt without NUL", true, packet('R', "<b@example.com>"), "not NUL-terminated"},
		{"empty helo", true, packet('H', ""), "no data"},
		{"empty macro", true, packet('D', ""), "no data"},
		{"header without value", true, packet('L', "Subject\x00"), "header packet"},
		{"body chunk over the negotiated size", true, packet('B', bigBody), "over the negotiated"},
		{"second negotiation", true, optNeg(), "only be negotiated once"},
		{"unknown command", true, packet('Z', "x"), "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := milttest.Start(t, milttest.Options{}, acceptAll)
			c := rawConn(t, srv, tc.negotiate)
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c, 5*time.Second)
			poll.Until(t, 5*time.Second, "a log line with the reason", func() bool {
				return strings.Contains(srv.Logs(), "packet refused") && strings.Contains(srv.Logs(), tc.reason)
			})
			// The daemon still serves, and the session slot came back.
			tr, err := srv.Play(plainTx())
			if err != nil || tr.Final.Action != "accept" {
				t.Fatalf("after the bad packet: %+v %v", tr, err)
			}
			poll.Until(t, 5*time.Second, "no open session", func() bool { return srv.Milter.OpenSessions() == 0 })
		})
	}
}

// TestStalledLengthPrefixesHoldNoMemory sends length prefixes that claim
// the largest packet the guard allows and then nothing: the server must
// not set aside what they claim.
func TestStalledLengthPrefixesHoldNoMemory(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{}, acceptAll)
	const conns = 32
	before := heapInUse()
	for range conns {
		c := rawConn(t, srv, true)
		if _, err := c.Write([]byte{0x00, 0x10, 0x00, 0x00, 'L'}); err != nil { // 1 MiB claimed
			t.Fatal(err)
		}
	}
	// Let every connection reach the wait for the payload.
	time.Sleep(300 * time.Millisecond)
	grown := int64(heapInUse()) - int64(before)
	if grown > conns*(1<<20)/4 {
		t.Fatalf("heap grew by %d bytes for %d stalled 1 MiB claims", grown, conns)
	}
}

func TestQuitNewConnectionKeepsOneSlot(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{MaxSessions: 2}, acceptAll)
	for range 2 {
		sess, err := srv.Client().Session(gomilter.NewMacroBag())
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if _, err := sess.Conn("h", gomilter.FamilyInet, 1, "192.0.2.9"); err != nil {
				t.Fatal(err)
			}
			if err := sess.Reset(nil); err != nil {
				t.Fatal(err)
			}
		}
		sess.Close()
	}
	poll.Until(t, 5*time.Second, "every slot back", func() bool { return srv.Milter.OpenSessions() == 0 })
	tr, err := srv.Play(plainTx())
	if err != nil || tr.Final.Action != "accept" {
		t.Fatalf("after QUIT_NC sessions: %+v %v", tr, err)
	}
}

func TestIdleConnectionsYieldTheirSlotToANewSession(t *testing.T) {
	// Idle eviction only takes connections idle longer than 30 s, so
	// the test ages its idle connection through the idle timeout
	// instead: what matters is that an idle connection can't hold a
	// slot for good, and that a full server evicts rather than refuses
	// is tested in the package's own tests.
	srv := milttest.Start(t, milttest.Options{MaxSessions: 1, IdleTimeout: 300 * time.Millisecond}, acceptAll)
	held, err := srv.Client().Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.Conn("h", gomilter.FamilyInet, 1, "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 5*time.Second, "the idle connection to be closed", func() bool {
		return srv.Milter.OpenSessions() == 0 && strings.Contains(srv.Logs(), "idle too long")
	})
	tr, err := srv.Play(plainTx())
	if err != nil || tr.Final.Action != "accept" {
		t.Fatalf("after the idle connection: %+v %v", tr, err)
	}
}

func TestSlowPacketIsCut(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{ReadTimeout: 300 * time.Millisecond}, acceptAll)
	c := rawConn(t, srv, true)
	// A HELO that claims 20 bytes and sends one byte at a time, slower
	// than the read timeout allows for the whole packet.
	p := packet('H', "client.example.org\x00")
	c.Write(p[:6])
	for i := 6; i < len(p); i++ {
		time.Sleep(50 * time.Millisecond)
		if _, err := c.Write(p[i : i+1]); err != nil {
			break
		}
	}
	expectClosed(t, c, 5*time.Second)
	poll.Until(t, 5*time.Second, "the read timeout's log line", func() bool {
		return strings.Contains(srv.Logs(), "did not arrive in time")
	})
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestOversizeChangesStillGetAVerdict: a header change over the
// protocol's 64 KiB is an error at the script's call, and a change the
// MTA can't take anyway (a huge quarantine reason) still ends the
// message with a reply instead of a connection closed without one.
func TestOversizeChangesStillGetAVerdict(t *testing.T) {
	for _, tc := range []struct {
		name, script, reply string
	}{
		{"header over 64 KiB", `msys.registerModule("m", {validate_data = function(self, msg, ac, vctx)
			msg:header("X-Big", string.rep("a", 70000))
			return msys.core.VALIDATE_CONT end})`, "451 4.3.0"},
		{"header at the limit", `msys.registerModule("m", {validate_data = function(self, msg, ac, vctx)
			msg:header("X-Big", string.rep("a", 65528 - 5 - 1))
			return msys.core.VALIDATE_CONT end})`, ""},
		{"quarantine reason over 64 KiB", `msys.registerModule("m", {validate_data = function(self, msg, ac, vctx)
			msg:header("X-Small", "1")
			msg:quarantine(string.rep("r", 70000))
			return msys.core.VALIDATE_CONT end})`, "451 4.3.0 Temporary local problem applying the policy's changes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := milttest.Start(t, milttest.Options{}, tc.script)
			tr, err := srv.Play(plainTx())
			if err != nil {
				t.Fatal(err)
			}
			if tc.reply == "" {
				if tr.Final.Action != "accept" || len(tr.Modifications) != 1 {
					t.Fatalf("at the limit: %+v", tr)
				}
				return
			}
			if tr.Final.Action != "tempfail" || !strings.HasPrefix(tr.Final.Reply, tc.reply) {
				t.Fatalf("final %+v, want a tempfail %q", tr.Final, tc.reply)
			}
		})
	}
}

// TestHeaderBytesCountTowardTheMessageSize: a message whose header block
// alone is over max_message_size gets 552 like an oversized body.
func TestHeaderBytesCountTowardTheMessageSize(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{MaxMessageSize: 64 << 10},
		`msys.registerModule("m", {validate_data = function(self, msg, ac, vctx) return msys.core.VALIDATE_CONT end})`)
	tx := plainTx()
	var hdr bytes.Buffer
	for i := range 40 {
		fmt.Fprintf(&hdr, "X-Filler-%d: %s\r\n", i, strings.Repeat("h", 2000))
	}
	tx.Message = append(hdr.Bytes(), "\r\nsmall body\r\n"...)
	tr, err := srv.Play(tx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tr.Final.Reply, "552 5.3.4") {
		t.Fatalf("80 KB of header fields with a 64 KiB limit: %+v", tr.Final)
	}
}

// TestManyTinyHeaderFieldsCountWhatTheyCost: 4,000 empty fields are 16 KB
// on the wire but cost far more to keep; a 64 KiB limit refuses them.
func TestManyTinyHeaderFieldsCountWhatTheyCost(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{MaxMessageSize: 64 << 10},
		`msys.registerModule("m", {validate_data = function(self, msg, ac, vctx) return msys.core.VALIDATE_CONT end})`)
	for _, tc := range []struct {
		fields int
		want   string
	}{{100, "accept"}, {4000, "reject"}} {
		tx := plainTx()
		tx.Message = append([]byte(strings.Repeat("a:\r\n", tc.fields)), "\r\nsmall body\r\n"...)
		tr, err := srv.Play(tx)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Final.Action != tc.want || (tc.want == "reject" && !strings.HasPrefix(tr.Final.Reply, "552 5.3.4")) {
			t.Fatalf("%d empty fields with a 64 KiB limit: %+v", tc.fields, tr.Final)
		}
	}
}

// TestShutdownIsBoundedWhateverConnectionsDo holds connections in every
// state a client can leave one in and checks that Shutdown returns soon
// after its context ends and closes them all.
func TestShutdownIsBoundedWhateverConnectionsDo(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{MaxSessions: 8}, acceptAll)
	half := rawConn(t, srv, false)
	half.Write(optNeg()[:6]) // negotiation begun, never finished
	stalled := rawConn(t, srv, true)
	stalled.Write([]byte{0, 0, 1, 0, 'H'}) // a packet begun, never finished
	idle, err := srv.Client().Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Conn("h", gomilter.FamilyInet, 1, "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	reused, err := srv.Client().Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer reused.Close()
	if _, err := reused.Conn("h", gomilter.FamilyInet, 1, "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	if err := reused.Reset(nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	returned := make(chan error, 1)
	go func() { returned <- srv.Milter.Shutdown(ctx) }()
	select {
	case <-returned:
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	for name, c := range map[string]net.Conn{"half-negotiated": half, "mid-packet": stalled} {
		t.Run(name, func(t *testing.T) { expectClosed(t, c, 5*time.Second) })
	}
	if n := srv.Milter.OpenSessions(); n != 0 {
		t.Fatalf("%d sessions open after Shutdown", n)
	}
}
