package milter

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/logbuf"
)

// continueAll is a Backend whose sessions let everything through.
type continueAll struct{}

func (continueAll) NewSession(context.Context, SessionInfo) (Session, error) {
	return continueSession{}, nil
}

type continueSession struct{}

func (continueSession) Connect(context.Context, Conn, Macros) Verdict            { return Verdict{} }
func (continueSession) Helo(context.Context, string, Macros) Verdict             { return Verdict{} }
func (continueSession) MailFrom(context.Context, string, string, Macros) Verdict { return Verdict{} }
func (continueSession) RcptTo(context.Context, string, string, Macros) Verdict   { return Verdict{} }
func (continueSession) Data(context.Context, Macros) Verdict                     { return Verdict{} }
func (continueSession) EndOfMessage(context.Context, *Message, Macros) Result    { return Result{} }
func (continueSession) Abort(context.Context, Macros)                            {}
func (continueSession) Close(context.Context)                                    {}

// TestAFullServerEvictsTheLongestIdleConnection fills every slot with
// connections that negotiate and then send nothing, as a local process
// holding the MTA out would, and checks that a new session still starts.
func TestAFullServerEvictsTheLongestIdleConnection(t *testing.T) {
	logs := &logbuf.Buffer{}
	srv := NewServer(Config{Backend: continueAll{}, Log: slog.New(slog.NewTextHandler(logs, nil)),
		MaxSessions: 3, SessionWait: 100 * time.Millisecond})
	srv.evictAfter = 200 * time.Millisecond
	sock := filepath.Join(t.TempDir(), "m.sock")
	ln, err := Listen("unix:"+sock, SocketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	client := gomilter.NewClient("unix", sock, gomilter.WithReadTimeout(5*time.Second), gomilter.WithWriteTimeout(5*time.Second))
	var held []*gomilter.ClientSession
	for range 3 {
		s, err := client.Session(gomilter.NewMacroBag())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Conn("h", gomilter.FamilyInet, 1, "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	time.Sleep(300 * time.Millisecond) // every held connection is idle past evictAfter
	// Three new sessions that stay open: each needs an idle one's slot.
	for i := range 3 {
		s, err := client.Session(gomilter.NewMacroBag())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		act, err := s.Conn("h", gomilter.FamilyInet, 1, "192.0.2.10")
		if err != nil || act.Type != gomilter.ActionContinue {
			t.Fatalf("new session %d with every slot held by idle connections: %+v %v", i, act, err)
		}
	}
	if got := strings.Count(logs.String(), "closing the longest idle milter connection"); got != 3 {
		t.Fatalf("%d evictions logged, want 3:\n%s", got, logs.String())
	}
	// The evicted connections are the held ones, which find theirs closed.
	for i, s := range held {
		if _, err := s.Helo("h"); err == nil {
			t.Errorf("held connection %d still answers", i)
		}
	}
}
