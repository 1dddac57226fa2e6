package milter_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/logbuf"
	"github.com/luamilter/luamilter/internal/poll"
	"github.com/luamilter/luamilter/milter"
)

// panicky is a Backend whose sessions panic at one stage, standing in for
// a bug in luamilter's own Go code.
type panicky struct{ at string }

func (p panicky) NewSession(context.Context, milter.SessionInfo) (milter.Session, error) {
	return &panickySession{at: p.at}, nil
}

type panickySession struct{ at string }

func (s *panickySession) boom(stage string) milter.Verdict {
	if stage == s.at {
		var m map[string]int
		m["x"]++ // nil map write: a real Go panic
	}
	return milter.Verdict{}
}
func (s *panickySession) Connect(context.Context, milter.Conn, milter.Macros) milter.Verdict {
	return s.boom("connect")
}
func (s *panickySession) Helo(context.Context, string, milter.Macros) milter.Verdict {
	return s.boom("helo")
}
func (s *panickySession) MailFrom(context.Context, string, string, milter.Macros) milter.Verdict {
	return s.boom("mail")
}
func (s *panickySession) RcptTo(context.Context, string, string, milter.Macros) milter.Verdict {
	return s.boom("rcpt")
}
func (s *panickySession) Data(context.Context, milter.Macros) milter.Verdict { return s.boom("data") }
func (s *panickySession) EndOfMessage(context.Context, *milter.Message, milter.Macros) milter.Result {
	return milter.Result{Verdict: s.boom("eom")}
}
func (s *panickySession) Abort(context.Context, milter.Macros) { s.boom("abort") }
func (s *panickySession) Close(context.Context)                { s.boom("close") }

func TestAPanicInTheSessionTempfailsAndTheServerKeepsServing(t *testing.T) {
	for _, stage := range []string{"connect", "mail", "rcpt", "eom", "close"} {
		t.Run(stage, func(t *testing.T) {
			logs := &logbuf.Buffer{}
			srv := milter.NewServer(milter.Config{Backend: panicky{at: stage}, Log: slog.New(slog.NewTextHandler(logs, nil))})
			sock := filepath.Join(t.TempDir(), "m.sock")
			ln, err := milter.Listen("unix:"+sock, milter.SocketOptions{})
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			defer srv.Close()
			for i := 0; i < 2; i++ {
				tr, err := milter.Play("unix", sock, plainTx())
				if err != nil {
					t.Fatal(err)
				}
				if stage == "close" {
					if tr.Final.Action != "accept" {
						t.Fatalf("final %+v", tr.Final)
					}
					continue
				}
				got := tr.Final
				for _, st := range tr.Stages {
					if st.Stage == stage {
						got = st
					}
				}
				if got.Stage != stage || got.Reply != "451 4.3.0 Temporary local problem, try again later" {
					t.Fatalf("stage %s: %+v", stage, got)
				}
			}
			// Close runs after the client has gone, so its log line may
			// come after Play returns.
			poll.Until(t, 5*time.Second, "the internal error log line", func() bool {
				return strings.Contains(logs.String(), "internal error; the session is tempfailed")
			})
		})
	}
}
