package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/logbuf"
)

// milterOpts describes one luamilter instance.
type milterOpts struct {
	scripts []string // Lua sources, loaded in this order
	onError string   // --on-error value; "" leaves the default
	unix    bool     // also listen on the suite's unix socket
	extra   []string // more serve flags
}

// milterProc is a running luamilter process.
type milterProc struct {
	cmd  *exec.Cmd
	logs *logbuf.Buffer
	done chan struct{}
}

// startMilter starts luamilter with the scenario scripts on the suite's
// milter socket(s) and stops it when the test ends. Its log is printed
// when the test fails.
func startMilter(t testing.TB, s *suite, o milterOpts) *milterProc {
	t.Helper()
	dir := t.TempDir()
	args := []string{"serve", "--listen", fmt.Sprintf("inet:127.0.0.1:%d", s.milterPort),
		// Keep clear of the default /run/luamilter/control.sock and
		// /var/spool/luamilter of an installed daemon or of other test
		// runs.
		"--control-socket", filepath.Join(dir, "control.sock"), "--spool-dir", dir}
	if o.unix {
		sock := strings.TrimPrefix(s.milterUnix, "unix:")
		// smtpd runs as user postfix and must be able to connect.
		args = append(args, "--listen", s.milterUnix,
			"--socket-mode", "0660", "--socket-owner", "root:postfix")
		if err := os.Remove(sock); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	for i, src := range o.scripts {
		path := filepath.Join(dir, fmt.Sprintf("policy%d.lua", i+1))
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--script", path)
	}
	if o.onError != "" {
		args = append(args, "--on-error", o.onError)
	}
	args = append(args, o.extra...)

	p := &milterProc{logs: &logbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(s.bin, args...)
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	// If the test binary dies (interrupt, -timeout panic), so does luamilter.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start luamilter: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("luamilter %s log:\n%s", strings.Join(args, " "), p.logs.String())
		}
	})
	if err := p.waitReady(s, o.unix); err != nil {
		t.Fatalf("luamilter not ready: %v\nlog:\n%s", err, p.logs.String())
	}
	return p
}

// waitReady waits until luamilter accepts connections on its sockets.
func (p *milterProc) waitReady(s *suite, unix bool) error {
	targets := [][2]string{{"tcp", fmt.Sprintf("127.0.0.1:%d", s.milterPort)}}
	if unix {
		targets = append(targets, [2]string{"unix", strings.TrimPrefix(s.milterUnix, "unix:")})
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, tg := range targets {
		for {
			select {
			case <-p.done:
				return fmt.Errorf("exited: %v", p.cmd.ProcessState)
			default:
			}
			c, err := net.DialTimeout(tg[0], tg[1], time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %s: %w", tg[0], tg[1], err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// stop terminates luamilter gracefully, killing it if it hangs.
func (p *milterProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends luamilter abruptly, as a crash would.
func (p *milterProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
