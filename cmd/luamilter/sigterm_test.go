package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/logbuf"
	"github.com/luamilter/luamilter/internal/poll"
	"github.com/luamilter/luamilter/milter"
)

// binDir holds the binary buildBinary builds; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "luamilter-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinary builds luamilter once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "luamilter")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// binary returns the built luamilter, skipping t in -short runs.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// sleepyScript records each stage in events and sleeps in validate_data.
func sleepyScript(events string, sleep float64) string {
	return fmt.Sprintf(`
local function record(what)
  local f = assert(io.open(%q, "a"))
  f:write(what .. "\n")
  f:close()
end
local mod = {}
function mod.init() record("init") return true end
function mod.deinit() record("deinit") return true end
function mod:validate_data(msg, ac, vctx)
  record("data")
  msys.sleep(%g)
  msg:header("X-Done", "yes", "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("sleepy", mod)
`, events, sleep)
}

// outcome of one client transaction during a shutdown.
type outcome int

const (
	answered outcome = iota // the MTA got the milter's final reply
	refused                 // no milter session: connect or negotiation failed
	cut                     // session open, connection closed without a reply
)

// classify maps a Play result to what an MTA would see. milter.Play
// prefixes errors after negotiation with the stage ("eom: ..."); an
// error without a stage means the session never started.
func classify(tr *milter.Trace, err error) (outcome, error) {
	if err == nil {
		if tr.Final.Action != "accept" {
			return answered, fmt.Errorf("final %s %s", tr.Final.Action, tr.Final.Reply)
		}
		return answered, nil
	}
	msg := err.Error()
	for _, stage := range []string{"connect:", "helo:", "mail:", "rcpt:", "data:", "header:", "eoh:", "eom:"} {
		if strings.HasPrefix(msg, stage) {
			return cut, nil
		}
	}
	return refused, nil
}

type daemonProc struct {
	cmd    *exec.Cmd
	stderr *logbuf.Buffer
	sock   string
	events string
	dir    string
	done   chan struct{}
	err    error
}

func startProc(t *testing.T, sleep float64, shutdownTimeout string) *daemonProc {
	t.Helper()
	return startProcCtl(t, sleep, shutdownTimeout, "none")
}

// startProcCtl is startProc with a control socket; "{{dir}}" in ctl is
// the daemon's temp dir.
func startProcCtl(t *testing.T, sleep float64, shutdownTimeout, ctl string) *daemonProc {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	p := &daemonProc{stderr: &logbuf.Buffer{}, sock: filepath.Join(dir, "milter.sock"),
		events: filepath.Join(dir, "events.log"), done: make(chan struct{}), dir: dir}
	ctl = strings.ReplaceAll(ctl, "{{dir}}", dir)
	if err := os.WriteFile(filepath.Join(dir, "sleepy.lua"), []byte(sleepyScript(p.events, sleep)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
listen = ["unix:%s"]
control_socket = %q
unsafe_lua = true
script_timeout = "30s"
shutdown_timeout = %q
spool_dir = %q
[[script]]
path = "sleepy.lua"
`, p.sock, ctl, shutdownTimeout, dir)
	cfgFile := filepath.Join(dir, "luamilter.toml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "serve", "--config", cfgFile)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("daemon stderr:\n%s", p.stderr.String())
		}
	})
	waitFor(t, "daemon listening", func() bool { return strings.Contains(p.stderr.String(), "msg=listening") })
	return p
}

func (p *daemonProc) count(what string) int {
	b, _ := os.ReadFile(p.events)
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l == what {
			n++
		}
	}
	return n
}

// exitCode waits for the process and returns its exit status.
func (p *daemonProc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("daemon did not exit")
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 30*time.Second, what, cond)
}

func txFor(i int) milter.Transaction {
	return milter.Transaction{ClientIP: "192.0.2.8", ClientName: "c.example.net", Helo: "c.example.net",
		From: fmt.Sprintf("s%d@example.org", i), Rcpts: []string{"r@example.com"}, QueueID: fmt.Sprintf("Q%d", i),
		Message: []byte("Subject: t\r\n\r\nbody\r\n")}
}

// TestSIGTERM runs the built binary, sends SIGTERM under load and checks
// what each client (standing in for the MTA) saw:
//
//   - drain: sessions open at SIGTERM finish and get their reply; later
//     connections are refused (the MTA applies milter_default_action to
//     a milter it can't reach); exit 0 after deinit.
//   - cut: sessions still running at --shutdown-timeout lose their
//     connection without a reply, which the MTA treats as a milter
//     failure: Postfix applies milter_default_action (default tempfail,
//     451 4.7.1), Sendmail the filter's F= flag (T tempfail, R reject,
//     neither: unfiltered delivery); exit 0 after deinit.
//   - second signal: a second SIGTERM exits 1 at once without deinit.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tests := []struct {
		name      string
		sleep     float64
		timeout   string
		clients   int
		signals   int
		wantCode  int
		want      outcome // what in-flight sessions get
		wantDeini int
	}{
		{name: "drain", sleep: 0.05, timeout: "20s", clients: 4, signals: 1, wantCode: 0, want: answered, wantDeini: 1},
		{name: "cut", sleep: 20, timeout: "200ms", clients: 3, signals: 1, wantCode: 0, want: cut, wantDeini: 1},
		{name: "second signal", sleep: 20, timeout: "60s", clients: 2, signals: 2, wantCode: 1, want: cut, wantDeini: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProc(t, tt.sleep, tt.timeout)
			type result struct {
				o   outcome
				err error
			}
			var mu sync.Mutex
			var results []result
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for c := 0; c < tt.clients; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						o, err := classify(milter.Play("unix", p.sock, txFor(c*1000+i)))
						mu.Lock()
						results = append(results, result{o: o, err: err})
						mu.Unlock()
						if o == refused {
							return // the daemon is gone
						}
					}
				}(c)
			}
			// Load first: every client inside validate_data at least once.
			waitFor(t, "clients in validate_data", func() bool { return p.count("data") >= tt.clients })
			p.cmd.Process.Signal(syscall.SIGTERM)
			if tt.signals == 2 {
				waitFor(t, "shutdown started", func() bool { return strings.Contains(p.stderr.String(), "shutting down") })
				p.cmd.Process.Signal(syscall.SIGTERM)
			}
			if code := p.exitCode(t); code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			close(stop)
			wg.Wait()
			if got := p.count("deinit"); got != tt.wantDeini {
				t.Errorf("deinit ran %d time(s), want %d", got, tt.wantDeini)
			}
			byOutcome := map[outcome]int{}
			for _, r := range results {
				if r.err != nil {
					t.Errorf("transaction: %v", r.err)
				}
				byOutcome[r.o]++
			}
			// Each client had one session in flight at SIGTERM (it
			// was seen in validate_data); those must end as tt.want,
			// and nothing else but answers before and refusals after.
			switch tt.want {
			case answered:
				if byOutcome[cut] != 0 {
					t.Errorf("%d session(s) cut during a graceful drain", byOutcome[cut])
				}
				if byOutcome[answered] < tt.clients {
					t.Errorf("%d answered, want at least %d", byOutcome[answered], tt.clients)
				}
			case cut:
				if byOutcome[cut] != tt.clients {
					t.Errorf("%d session(s) cut, want %d (one per client)", byOutcome[cut], tt.clients)
				}
			}
			t.Logf("outcomes: %d answered, %d refused, %d cut", byOutcome[answered], byOutcome[refused], byOutcome[cut])
		})
	}
}
