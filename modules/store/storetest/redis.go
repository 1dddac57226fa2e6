// Package storetest starts a real redis-server for tests of the counter
// store and the libraries built on it.
package storetest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Redis is a redis-server child process listening on 127.0.0.1.
type Redis struct {
	Addr string
	t    testing.TB
	port int
	dir  string
	args []string // the command line after redis-server, built by start
	cmd  *exec.Cmd
}

// StartRedis starts redis-server on a free loopback port with its data in
// t.TempDir(), and stops it when the test ends. Without the binary the test
// fails with an install hint, or is skipped when LUAMILTER_NO_REDIS=1.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	return startRedis(t, func(r *Redis) []string {
		return []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", r.dir}
	})
}

// startRedis runs redis-server with the arguments args builds.
func startRedis(t testing.TB, args func(r *Redis) []string) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("LUAMILTER_NO_REDIS") == "1" {
			t.Skip("redis-server not installed and LUAMILTER_NO_REDIS=1")
		}
		t.Fatalf("redis-server not found (%v): install it with `apt-get install -y redis-server`, or set LUAMILTER_NO_REDIS=1 to skip", err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r := &Redis{t: t, port: port, dir: t.TempDir(), Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	r.args = args(r)
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start (re)starts the server on its port and waits until it answers PING.
func (r *Redis) Start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", r.args...)
	r.cmd.Stdout, r.cmd.Stderr = nil, nil
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(r.Addr) == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Kill()
	r.t.Fatalf("redis-server on %s did not answer PING within 10s", r.Addr)
}

// Kill stops the server at once, as a crash would.
func (r *Redis) Kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected PING reply %q", line)
	}
	return nil
}
