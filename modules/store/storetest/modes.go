package storetest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StartCluster starts a one-node Redis Cluster that serves every hash
// slot: enough to prove that each script's keys share a slot, which is
// what Redis Cluster enforces.
func StartCluster(t testing.TB) *Redis {
	t.Helper()
	r := startRedis(t, func(r *Redis) []string {
		return []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", r.dir, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(r.dir, "nodes.conf")}
	})
	if _, err := command(r.Addr, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
		t.Fatalf("assign cluster slots: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := command(r.Addr, "CLUSTER", "INFO")
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster on %s not ready: %v %s", r.Addr, err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartSentinel starts a Sentinel watching master under the given name.
func StartSentinel(t testing.TB, master *Redis, name string) *Redis {
	t.Helper()
	return startRedis(t, func(r *Redis) []string {
		conf := filepath.Join(r.dir, "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\n", name, master.port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{conf, "--sentinel", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir}
	})
}

// command sends one command and returns the reply's first line, or the
// whole bulk string.
func command(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	req := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		req += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	switch line[0] {
	case '-':
		return "", fmt.Errorf("%s", strings.TrimSpace(line[1:]))
	case '$':
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return strings.TrimSpace(line), nil
}
