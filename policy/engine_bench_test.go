package policy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/luamilter/luamilter/callout"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// benchMacros is the macros a Postfix-like MTA sends, read by the engine
// at every stage.
type benchMacros map[string]string

func (m benchMacros) Get(name string) string { return m[name] }

func (m benchMacros) GetEx(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// engineFixture is the reference policy (examples/reference-policy.lua)
// loaded into an engine that logs at warn, as the benchmarks run the
// daemon, with no milter wire in front of it.
func engineFixture(b *testing.B) *policy.Engine {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, err := luart.New(luart.Config{
		Scripts:   []string{filepath.Join("..", "examples", "reference-policy.lua")},
		Libraries: policy.Libraries(),
		Callouts:  callout.Names(),
		Log:       log,
	})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := policy.NewEngine(context.Background(), rt, policy.Config{Log: log})
	if err != nil {
		rt.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close(context.Background()) }) // closes rt too
	return eng
}

// benchHeaders is milterload's header block: 12 fields, two folded.
func benchHeaders() []milter.Header {
	var hs []milter.Header
	for i := 0; i < 9; i++ {
		hs = append(hs, milter.Header{Name: fmt.Sprintf("X-Header-%d", i), Value: fmt.Sprintf(" value number %d of the benchmark message", i)})
	}
	return append(hs,
		milter.Header{Name: "Subject", Value: " a perfectly ordinary message\r\n\tfolded onto a second line"},
		milter.Header{Name: "From", Value: " Sender <a@example.org>"},
		milter.Header{Name: "Received", Value: " from client.example.net (client.example.net [192.0.2.1])\r\n\tby mx.example.com; Tue, 25 Nov 2026 10:00:00 +0000"})
}

// engineSession runs the reference policy's transactions on one session
// the way the milter adapter does: MAIL, two RCPT, end of message with
// the buffered header block (the body negotiated away), ABORT.
type engineSession struct {
	sess  milter.Session
	msg   milter.Message
	connM benchMacros
	// Two queue ids taken in turn: the MTA gives every message its own.
	mailM   [2]benchMacros
	rcptM   [2]benchMacros
	eomM    [2]benchMacros
	n       int
	rcpts   [2]string
	headers []milter.Header
}

func newEngineSession(b *testing.B, eng *policy.Engine, id uint64) *engineSession {
	ctx := context.Background()
	sess, err := eng.NewSession(ctx, milter.SessionInfo{ID: id, Actions: milter.AllActions})
	if err != nil {
		b.Fatal(err)
	}
	es := &engineSession{sess: sess,
		connM: benchMacros{"j": "mx.example.com", "{daemon_name}": "smtpd", "{daemon_addr}": "192.0.2.25", "{daemon_port}": "25", "v": "Postfix 3.7"},
		mailM: [2]benchMacros{{"i": "4XyZ1234", "{mail_addr}": "a@example.org", "{mail_mailer}": "smtp"},
			{"i": "4XyZ1235", "{mail_addr}": "a@example.org", "{mail_mailer}": "smtp"}},
		rcptM: [2]benchMacros{{"i": "4XyZ1234", "{rcpt_addr}": "b@example.com", "{rcpt_mailer}": "smtp"},
			{"i": "4XyZ1235", "{rcpt_addr}": "b@example.com", "{rcpt_mailer}": "smtp"}},
		eomM:    [2]benchMacros{{"i": "4XyZ1234"}, {"i": "4XyZ1235"}},
		rcpts:   [2]string{"b@example.com", "c@example.com"},
		headers: benchHeaders(),
	}
	es.msg = milter.Message{Headers: es.headers, Body: milter.NewSpool(b.TempDir(), 1<<20, 0), BodyOmitted: true}
	if v := sess.Connect(ctx, milter.Conn{Host: "client.example.net", Family: "tcp4", IP: []byte{192, 0, 2, 1}, Port: 40000}, es.connM); v.Action != milter.Continue {
		b.Fatalf("connect: %v", v)
	}
	if v := sess.Helo(ctx, "client.example.net", es.connM); v.Action != milter.Continue {
		b.Fatalf("helo: %v", v)
	}
	b.Cleanup(func() { sess.Close(ctx) })
	return es
}

func (es *engineSession) transaction(ctx context.Context) error {
	q := es.n & 1
	es.n++
	if v := es.sess.MailFrom(ctx, "a@example.org", "SIZE=5120", es.mailM[q]); v.Action != milter.Continue {
		return fmt.Errorf("mail: %v", v)
	}
	for _, r := range es.rcpts {
		if v := es.sess.RcptTo(ctx, r, "", es.rcptM[q]); v.Action != milter.Continue {
			return fmt.Errorf("rcpt: %v", v)
		}
	}
	res := es.sess.EndOfMessage(ctx, &es.msg, es.eomM[q])
	if res.Verdict.Action != milter.Continue || len(res.Changes) != 1 {
		return fmt.Errorf("eom: %v %v", res.Verdict, res.Changes)
	}
	es.sess.Abort(ctx, es.eomM[q])
	return nil
}

// BenchmarkEngineTransaction measures the policy engine alone on the
// reference policy: what one clean transaction (four callouts, one added
// header) costs in time and allocations, without go-milter and the
// socket. allocs/op is the figure to hold down; it counts everything
// between the milter adapter and Lua (the bridge, the objects handed to
// the scripts, the message model, logging and summaries at warn level).
func BenchmarkEngineTransaction(b *testing.B) {
	eng := engineFixture(b)
	es := newEngineSession(b, eng, 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := es.transaction(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineTransactionParallel is BenchmarkEngineTransaction with
// sessions on every P contending for the generation's Lua lock and its
// threads, as concurrent milter connections do.
func BenchmarkEngineTransactionParallel(b *testing.B) {
	eng := engineFixture(b)
	ctx := context.Background()
	var mu sync.Mutex
	var id uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		id++
		es := newEngineSession(b, eng, id)
		mu.Unlock()
		for pb.Next() {
			if err := es.transaction(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
