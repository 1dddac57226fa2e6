package e2e

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/d--j/go-milter"
)

// macroNames are all macros luamilter may use, plus Sendmail extras.
var macroNames = []string{
	"j", "_", "v", "{daemon_name}", "{daemon_addr}", "{daemon_port}",
	"{if_name}", "{if_addr}", "{client_addr}", "{client_port}", "{client_name}",
	"{client_ptr}", "{client_resolve}", "{client_connections}",
	"{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}", "{verify}",
	"i", "{auth_type}", "{auth_authen}", "{auth_ssf}", "{auth_author}",
	"{mail_addr}", "{mail_host}", "{mail_mailer}",
	"{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}", "{msg_id}",
}

// macroStages are the points where the recorder looks at the macros; the
// two RCPT columns show macros that appear only after a first accepted RCPT.
var macroStages = []string{"connect", "helo", "mail", "rcpt 1", "rcpt 2", "data", "eoh", "eom"}

// macroRecorder is a milter that records the macros visible at each stage
// of the most recent session.
type macroRecorder struct {
	mu   sync.Mutex
	seen map[string]map[string]string // stage -> macro -> value
}

func (r *macroRecorder) record(stage string, m milter.Modifier) {
	vals := map[string]string{}
	for _, name := range macroNames {
		if v, ok := m.GetEx(name); ok {
			vals[name] = v
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if stage == "connect" {
		r.seen = map[string]map[string]string{}
	}
	if stage == "rcpt 1" && r.seen["rcpt 1"] != nil {
		stage = "rcpt 2"
	}
	r.seen[stage] = vals
}

func (r *macroRecorder) snapshot() map[string]map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen
}

// recorderMilter forwards every callback to the recorder and accepts.
type recorderMilter struct {
	milter.NoOpMilter
	rec *macroRecorder
}

func (m recorderMilter) Connect(_, _ string, _ uint16, _ string, mod milter.Modifier) (*milter.Response, error) {
	m.rec.record("connect", mod)
	return milter.RespContinue, nil
}

func (m recorderMilter) Helo(_ string, mod milter.Modifier) (*milter.Response, error) {
	m.rec.record("helo", mod)
	return milter.RespContinue, nil
}

func (m recorderMilter) MailFrom(_, _ string, mod milter.Modifier) (*milter.Response, error) {
	m.rec.record("mail", mod)
	return milter.RespContinue, nil
}

func (m recorderMilter) RcptTo(_, _ string, mod milter.Modifier) (*milter.Response, error) {
	m.rec.record("rcpt 1", mod)
	return milter.RespContinue, nil
}

func (m recorderMilter) Data(mod milter.Modifier) (*milter.Response, error) {
	m.rec.record("data", mod)
	return milter.RespContinue, nil
}

func (m recorderMilter) Headers(mod milter.Modifier) (*milter.Response, error) {
	m.rec.record("eoh", mod)
	return milter.RespContinue, nil
}

func (m recorderMilter) EndOfMessage(mod milter.Modifier) (*milter.Response, error) {
	m.rec.record("eom", mod)
	return milter.RespAccept, nil
}

// serveMilter runs a go-milter server on the suite's TCP milter socket
// until the test ends.
func serveMilter(t *testing.T, s *suite, opts ...milter.Option) {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.milterPort))
	if err != nil {
		t.Fatalf("listen on the milter port: %v", err)
	}
	srv := milter.NewServer(opts...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

// TestMacrosPerStage records which macros each MTA sends at each stage:
// "configured" uses the macro lists of the contrib snippets, "requested"
// asks for every macro during negotiation (as a milter may). The tables
// are written to the test log in the format of contrib/README-macros.md.
func TestMacrosPerStage(t *testing.T) {
	s := requireSuite(t)
	for _, mode := range []string{"configured", "requested"} {
		t.Run(mode, func(t *testing.T) {
			rec := &macroRecorder{}
			opts := []milter.Option{milter.WithMilter(func() milter.Milter { return recorderMilter{rec: rec} })}
			if mode == "requested" {
				for st := milter.StageConnect; st < milter.StageEndMarker; st++ {
					opts = append(opts, milter.WithMacroRequest(st, macroNames))
				}
			}
			serveMilter(t, s, opts...)
			forEachMTA(t, s, func(t *testing.T, m *mta) {
				id := uniq()
				r1 := "one+" + id + "@example.com"
				r2 := "two+" + id + "@example.net"
				deliverOne(t, m, "macros+"+id+"@example.org", []string{r1, r2},
					message("macros@example.org", r1, "macros", nil, "macros\n"))
				m.waitDelivery(t, r1)
				seen := rec.snapshot()
				t.Logf("macros sent by %s (%s):\n%s", m.name, mode, macroTable(seen))

				// What luamilter relies on for its connection and message context.
				for _, ck := range []struct{ stage, macro, want string }{
					{"connect", "{client_addr}", "127.0.0.1"},
					{"connect", "{daemon_addr}", "127.0.0.1"},
					{"connect", "{daemon_port}", fmt.Sprint(m.port)},
					{"connect", "j", m.name + ".harness.test"},
					{"mail", "{mail_addr}", "macros+" + id + "@example.org"},
					{"rcpt 1", "{rcpt_addr}", r1},
					{"rcpt 2", "{rcpt_addr}", r2},
				} {
					if got := seen[ck.stage][ck.macro]; got != ck.want {
						t.Errorf("%s %s = %q, want %q", ck.stage, ck.macro, got, ck.want)
					}
				}
				if seen["eom"]["i"] == "" {
					t.Errorf("no queue id (i) at end of message")
				}
			})
		})
	}
}

// macroTable renders the recorded macros as a Markdown table: one row per
// macro, one column per stage, "·" where the macro was not available.
func macroTable(seen map[string]map[string]string) string {
	var b strings.Builder
	b.WriteString("| macro | " + strings.Join(macroStages, " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|---", len(macroStages)) + "|\n")
	names := slices.Clone(macroNames)
	for _, name := range names {
		row := []string{"`" + name + "`"}
		any := false
		for _, st := range macroStages {
			v, ok := seen[st][name]
			switch {
			case !ok:
				row = append(row, "·")
			case v == "":
				row = append(row, "(empty)")
				any = true
			default:
				row = append(row, "`"+strings.ReplaceAll(v, "|", "\\|")+"`")
				any = true
			}
		}
		if any {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
	}
	return b.String()
}

// TestMTAQuarantine shows where each MTA keeps a message a plain go-milter
// milter quarantines (no luamilter involved).
func TestMTAQuarantine(t *testing.T) {
	s := requireSuite(t)
	serveMilter(t, s, milter.WithMilter(func() milter.Milter { return quarantineMilter{} }),
		milter.WithAction(milter.OptQuarantine))
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		rcpt := "held+" + uniq() + "@example.com"
		final := deliverOne(t, m, "sender@example.org", []string{rcpt},
			message("sender@example.org", rcpt, "quarantine", nil, "hold me\n"))
		qid := m.queueID(final)
		if qid == "" {
			t.Fatalf("no queue id in %q", final)
		}
		m.assertHeld(t, qid, "reference quarantine")
		t.Logf("%s queue:\n%s", m.name, m.queueListing(t))
		m.assertNotDelivered(t, rcpt)
	})
}

// quarantineMilter quarantines every message.
type quarantineMilter struct{ milter.NoOpMilter }

func (quarantineMilter) EndOfMessage(m milter.Modifier) (*milter.Response, error) {
	if err := m.Quarantine("reference quarantine"); err != nil {
		return nil, err
	}
	return milter.RespAccept, nil
}
