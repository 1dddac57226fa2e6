package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deliveryTimeout bounds how long a test waits for a message in the sink.
const deliveryTimeout = 30 * time.Second

// mta is one private MTA instance driven through the test/mta scripts.
type mta struct {
	name   string // "postfix" or "sendmail"
	port   int    // SMTP port on 127.0.0.1
	suite  *suite
	sink   string
	milter string // MTA-side milter socket spec currently configured
	// relayDomain, relayPort and queueInterval are the optional settings
	// of the start scripts (RELAY_DOMAIN, RELAY_PORT, QUEUE_INTERVAL);
	// zero values leave the scripts' defaults.
	relayDomain   string
	relayPort     int
	queueInterval string
}

func newMTA(s *suite, name string, port int) *mta {
	return &mta{
		name:  name,
		port:  port,
		suite: s,
		sink:  filepath.Join(s.state, name, "sink"),
	}
}

func (m *mta) script(name string) string {
	return filepath.Join(m.suite.repo, "test", "mta", name)
}

func (m *mta) scriptEnv(milter string) []string {
	env := append(os.Environ(),
		"STATE="+m.suite.state,
		fmt.Sprintf("SMTP_PORT=%d", m.port),
		"MILTER="+milter,
		"MILTER_DEFAULT_ACTION=tempfail",
		"SINK="+m.sink,
	)
	if m.relayDomain != "" {
		env = append(env, "RELAY_DOMAIN="+m.relayDomain, fmt.Sprintf("RELAY_PORT=%d", m.relayPort))
	}
	if m.queueInterval != "" {
		env = append(env, "QUEUE_INTERVAL="+m.queueInterval)
	}
	return env
}

// configure starts the MTA, or reconfigures it, to use the milter socket.
func (m *mta) configure(milter string) error {
	if m.milter == milter {
		return nil
	}
	return m.start(milter)
}

// start runs the start script, which applies whatever changed.
func (m *mta) start(milter string) error {
	cmd := exec.Command(m.script(m.name + "-start.sh"))
	cmd.Env = m.scriptEnv(milter)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s-start.sh: %w\n%s", m.name, err, out)
	}
	m.milter = milter
	return nil
}

func (m *mta) stop() error {
	cmd := exec.Command(m.script(m.name + "-stop.sh"))
	cmd.Env = m.scriptEnv(m.milter)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s-stop.sh: %w\n%s", m.name, err, out)
	}
	return nil
}

// useMilter switches the MTA to another milter socket for the rest of the
// test and back to the TCP socket afterwards.
func (m *mta) useMilter(t testing.TB, milter string) {
	t.Helper()
	if err := m.configure(milter); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.configure(m.suite.milterInet); err != nil {
			t.Error(err)
		}
	})
}

// useRelay routes mail for domain over SMTP to the other MTA for the rest
// of the test, so this MTA is the sending MTA of a second hop; a non-empty
// queueInterval also sets Sendmail's queue-run interval. Both go back to
// the defaults afterwards (a Sendmail restart, a Postfix reload).
func (m *mta) useRelay(t testing.TB, domain string, to *mta, queueInterval string) {
	t.Helper()
	m.relayDomain, m.relayPort, m.queueInterval = domain, to.port, queueInterval
	t.Cleanup(func() {
		m.relayDomain, m.relayPort, m.queueInterval = "", 0, ""
		if err := m.start(m.milter); err != nil {
			t.Error(err)
		}
	})
	if err := m.start(m.milter); err != nil {
		t.Fatal(err)
	}
}

// logTail returns the end of the MTA's log, for failure messages.
func (m *mta) logTail(lines int) string {
	data, err := os.ReadFile(filepath.Join(m.suite.state, m.name, "maillog"))
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// delivery is one message the MTA handed to the sink.
type delivery struct {
	Sender    string
	Recipient string
	Raw       string
	Header    mail.Header
	Body      string
}

// waitDelivery waits until the sink holds a message for rcpt.
func (m *mta) waitDelivery(t *testing.T, rcpt string) *delivery {
	t.Helper()
	deadline := time.Now().Add(deliveryTimeout)
	for {
		d, err := m.findDelivery(rcpt)
		if err != nil {
			t.Fatal(err)
		}
		if d != nil {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no delivery to %s within %v; log:\n%s", m.name, rcpt, deliveryTimeout, m.logTail(25))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertNotDelivered checks that the sink has no message for rcpt.
// Callers first wait for something that shows the MTA finished with the
// message (a sibling delivery, or a reply that means nothing was queued).
func (m *mta) assertNotDelivered(t *testing.T, rcpt string) {
	t.Helper()
	d, err := m.findDelivery(rcpt)
	if err != nil {
		t.Fatal(err)
	}
	if d != nil {
		t.Errorf("%s: unexpected delivery to %s:\n%s", m.name, rcpt, d.Raw)
	}
}

func (m *mta) findDelivery(rcpt string) (*delivery, error) {
	copies, err := m.sinkCopies(func(r string) bool { return strings.EqualFold(r, rcpt) })
	if err != nil || len(copies) == 0 {
		return nil, err
	}
	c := copies[0]
	body, err := io.ReadAll(c.msg.Body)
	if err != nil {
		return nil, fmt.Errorf("read body of %s: %w", c.envFile, err)
	}
	return &delivery{
		Sender:    c.fields["sender"],
		Recipient: c.fields["recipient"],
		Raw:       string(c.raw),
		Header:    c.msg.Header,
		Body:      string(body),
	}, nil
}

// sinkCopy is one message the MTA delivered into its sink.
type sinkCopy struct {
	envFile string
	fields  map[string]string // the envelope: sender, recipient
	raw     []byte
	msg     *mail.Message
	modTime time.Time // when deliver.sh renamed the envelope into place, last
}

// sinkCopies reads the sink's copies for the recipients want accepts.
func (m *mta) sinkCopies(want func(rcpt string) bool) ([]sinkCopy, error) {
	envs, err := filepath.Glob(filepath.Join(m.sink, "*.env"))
	if err != nil {
		return nil, fmt.Errorf("list sink: %w", err)
	}
	var out []sinkCopy
	for _, envFile := range envs {
		// deliver.sh writes ".tmp.*" files first; Glob's "*" matches dots.
		if strings.HasPrefix(filepath.Base(envFile), ".") {
			continue
		}
		fields, err := readEnvelope(envFile)
		if err != nil {
			return nil, err
		}
		if !want(fields["recipient"]) {
			continue
		}
		fi, err := os.Stat(envFile)
		if err != nil {
			return nil, err
		}
		raw, err := os.ReadFile(strings.TrimSuffix(envFile, ".env") + ".eml")
		if err != nil {
			return nil, fmt.Errorf("read sink message: %w", err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", envFile, err)
		}
		out = append(out, sinkCopy{envFile: envFile, fields: fields, raw: raw, msg: msg, modTime: fi.ModTime()})
	}
	return out, nil
}

func readEnvelope(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w", err)
	}
	defer f.Close()
	fields := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			fields[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read envelope %s: %w", path, err)
	}
	return fields, nil
}

// queueListing lists the MTA's quarantine: Postfix's queue (held messages
// are marked with "!"), Sendmail's quarantined queue (mailq -qQ).
func (m *mta) queueListing(t *testing.T) string {
	t.Helper()
	var cmd *exec.Cmd
	switch m.name {
	case "postfix":
		cmd = exec.Command("/usr/sbin/postqueue", "-c", filepath.Join(m.suite.state, "postfix", "etc"), "-p")
	default:
		cmd = exec.Command(m.script("sendmail-cmd.sh"), "-bp", "-qQ")
		cmd.Env = m.scriptEnv(m.milter)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s queue listing: %v\n%s", m.name, err, out)
	}
	return string(out)
}

// queueID extracts the queue id from a final "250" reply to DATA.
func (m *mta) queueID(r reply) string {
	text := r.text()
	switch m.name {
	case "postfix": // "2.0.0 Ok: queued as 4ABC123"
		if _, id, ok := strings.Cut(text, "queued as "); ok {
			return strings.Fields(id)[0]
		}
	default: // "2.0.0 6APEIK5a019287 Message accepted for delivery"
		if f := strings.Fields(text); len(f) >= 2 {
			return f[1]
		}
	}
	return ""
}
