package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const skipMessage = "set LUAMILTER_E2E=1 (scripts/install-deps.sh first)"

// suite is the environment shared by all tests of the package: the MTAs
// run once per package (starting them costs seconds), luamilter instances
// are swapped between tests on the same milter socket.
type suite struct {
	repo       string // repository root
	state      string // state directory of the MTAs and the milter sockets
	bin        string // built luamilter binary
	buildErr   error  // why bin could not be built
	milterPort int
	milterInet string // MTA-side socket spec of the TCP milter
	milterUnix string // MTA-side socket spec of the unix milter
	postfix    *mta
	sendmail   *mta
	stopOnce   sync.Once
}

// env is set once by TestMain before any test runs and only read afterwards;
// nil means the end-to-end tests are disabled.
var env *suite

// TestMain starts the MTAs and builds luamilter once for all tests, or
// only announces the skip when LUAMILTER_E2E is unset.
func TestMain(m *testing.M) {
	if os.Getenv("LUAMILTER_E2E") == "" {
		fmt.Println("e2e: " + skipMessage)
		os.Exit(m.Run())
	}
	s, err := setupSuite()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		if s != nil {
			s.teardown()
		}
		os.Exit(1)
	}
	env = s
	// An interrupted run must not leave private MTAs behind.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		s.teardown()
		os.Exit(130)
	}()
	code := m.Run()
	s.teardown()
	os.Exit(code)
}

// requireSuite skips the test when the end-to-end tests are disabled.
func requireSuite(t *testing.T) *suite {
	t.Helper()
	if env == nil {
		t.Skip(skipMessage)
	}
	return env
}

// requireBinary also fails the test when luamilter could not be built.
func requireBinary(t *testing.T) *suite {
	t.Helper()
	s := requireSuite(t)
	if s.buildErr != nil {
		t.Fatalf("luamilter not built: %v", s.buildErr)
	}
	return s
}

func setupSuite() (*suite, error) {
	repo, err := filepath.Abs("..")
	if err != nil {
		return nil, fmt.Errorf("find repository root: %w", err)
	}
	if err := checkPrerequisites(); err != nil {
		return nil, err
	}
	state, err := os.MkdirTemp("", "luamilter-e2e-")
	if err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	// Postfix (user postfix) and the sink (user nobody) must reach it.
	if err := os.Chmod(state, 0o755); err != nil {
		return nil, fmt.Errorf("chmod state dir: %w", err)
	}
	s := &suite{repo: repo, state: state}
	fmt.Printf("e2e: state in %s\n", state)

	ports, err := freePorts(3)
	if err != nil {
		return s, err
	}
	s.milterPort = ports[0]
	s.milterInet = fmt.Sprintf("inet:127.0.0.1:%d", ports[0])
	milterDir := filepath.Join(state, "milter")
	if err := os.MkdirAll(milterDir, 0o755); err != nil {
		return s, fmt.Errorf("create milter socket dir: %w", err)
	}
	s.milterUnix = "unix:" + filepath.Join(milterDir, "luamilter.sock")

	if bin := os.Getenv("LUAMILTER_BIN"); bin != "" {
		// A prebuilt binary, e.g. a release candidate.
		s.bin = bin
		if _, err := os.Stat(bin); err != nil {
			s.buildErr = fmt.Errorf("LUAMILTER_BIN: %w", err)
		}
	} else {
		s.bin = filepath.Join(state, "luamilter")
		build := exec.Command("go", "build", "-o", s.bin, "./cmd/luamilter")
		build.Dir = repo
		if out, err := build.CombinedOutput(); err != nil {
			s.buildErr = fmt.Errorf("go build ./cmd/luamilter: %w\n%s", err, out)
		}
	}
	if s.buildErr != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", s.buildErr)
	}

	s.postfix = newMTA(s, "postfix", ports[1])
	s.sendmail = newMTA(s, "sendmail", ports[2])
	for _, m := range s.mtas() {
		if err := m.configure(s.milterInet); err != nil {
			return s, err
		}
	}
	return s, nil
}

// checkPrerequisites fails when an MTA or tool the suite needs is missing:
// with LUAMILTER_E2E set, a missing MTA is an error, not a skip.
func checkPrerequisites() error {
	var missing []string
	for _, p := range []string{"/usr/sbin/postfix", "/usr/sbin/postqueue", sendmailBinary()} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	for _, tool := range []string{"m4", "ss", "unshare", "nsenter", "python3", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run scripts/install-deps.sh", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		return errors.New("the MTA harness needs root (private Postfix and Sendmail instances)")
	}
	return nil
}

func sendmailBinary() string {
	prefix := os.Getenv("SENDMAIL_PREFIX")
	if prefix == "" {
		prefix = "/opt/luamilter-test/sendmail"
	}
	return filepath.Join(prefix, "usr/libexec/sendmail/sendmail")
}

func (s *suite) mtas() []*mta {
	return []*mta{s.postfix, s.sendmail}
}

func (s *suite) teardown() {
	s.stopOnce.Do(s.stopAll)
}

func (s *suite) stopAll() {
	if os.Getenv("LUAMILTER_E2E_KEEP") != "" {
		fmt.Printf("e2e: keeping MTAs and %s\n", s.state)
		return
	}
	for _, m := range []*mta{s.postfix, s.sendmail} {
		if m != nil {
			if err := m.stop(); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			}
		}
	}
	if err := os.RemoveAll(s.state); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: remove state: %v\n", err)
	}
}

// freePorts returns n distinct ports that were free on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// forEachMTA runs f as a subtest for Postfix and for Sendmail.
func forEachMTA(t *testing.T, s *suite, f func(t *testing.T, m *mta)) {
	t.Helper()
	for _, m := range s.mtas() {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}
