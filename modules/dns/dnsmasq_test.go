package dns

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

const dnsmasqPath = "/usr/sbin/dnsmasq"

// zoneArgs is the test zone served by dnsmasq. Authoritative mode gives
// SOA records, so negative answers carry a TTL and NS queries work.
var zoneArgs = []string{
	"--host-record=host.example.test,192.0.2.10,2001:db8::10",
	"--mx-host=example.test,mx2.example.test,20",
	"--mx-host=example.test,mx1.example.test,10",
	"--txt-record=example.test,v=spf1 -all",
	"--txt-record=multi.example.test,part one ,part two",
	"--host-record=2.0.0.127.rbl.test,127.0.0.2",
	"--txt-record=2.0.0.127.rbl.test,Listed: see http://rbl.test/",
	"--auth-zone=example.test,192.0.2.0/24,2001:db8::/32",
	"--auth-zone=rbl.test",
	"--auth-server=ns1.example.test,127.0.0.1",
	"--auth-ttl=60",
	"--auth-soa=1,hostmaster.example.test,1200,180,1209600,60",
}

// startDnsmasq runs dnsmasq on a free loopback port and returns its
// "ip:port" and a function stopping it (also run at cleanup).
func startDnsmasq(t testing.TB) (string, func()) {
	t.Helper()
	if _, err := os.Stat(dnsmasqPath); err != nil {
		if os.Getenv("LUAMILTER_NO_DNSMASQ") == "1" {
			t.Skip("dnsmasq not installed and LUAMILTER_NO_DNSMASQ=1")
		}
		t.Fatalf("%s not found: install it with `apt-get install -y dnsmasq-base` (or set LUAMILTER_NO_DNSMASQ=1 to skip)", dnsmasqPath)
	}
	// The free UDP port may be taken on TCP by another test running in
	// parallel (dnsmasq binds both), so a start that fails is retried on
	// another port.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		addr, stop, err := tryDnsmasq(t, freeUDPPort(t))
		if err == nil {
			return addr, stop
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return "", nil
}

func tryDnsmasq(t testing.TB, port int) (string, func(), error) {
	t.Helper()
	args := append([]string{
		"--no-daemon", "--port=" + strconv.Itoa(port), "--listen-address=127.0.0.1",
		"--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
	}, zoneArgs...)
	cmd := exec.Command(dnsmasqPath, args...)
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start dnsmasq: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		cmd.Process.Kill()
		<-done
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitReady(addr, done); err != nil {
		stop()
		return "", nil, err
	}
	t.Cleanup(stop)
	return addr, stop, nil
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// waitReady polls the server until it answers, for up to ten seconds.
func waitReady(addr string, exited <-chan struct{}) error {
	q := new(mdns.Msg)
	q.SetQuestion("host.example.test.", mdns.TypeA)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		select {
		case <-exited:
			return fmt.Errorf("dnsmasq on %s exited during start-up", addr)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := mdns.ExchangeContext(ctx, q, addr)
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("dnsmasq on %s did not answer", addr)
}

// silentServer opens a UDP socket that reads queries and never answers.
func silentServer(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return c.LocalAddr().String()
}
