package dns

import (
	"context"
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
	port := freeUDPPort(t)
	args := append([]string{
		"--no-daemon", "--port=" + strconv.Itoa(port), "--listen-address=127.0.0.1",
		"--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
	}, zoneArgs...)
	cmd := exec.Command(dnsmasqPath, args...)
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dnsmasq: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		cmd.Process.Kill()
		<-done
	}
	t.Cleanup(stop)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitReady(t, addr, done)
	return addr, stop
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
func waitReady(t testing.TB, addr string, exited <-chan struct{}) {
	t.Helper()
	q := new(mdns.Msg)
	q.SetQuestion("host.example.test.", mdns.TypeA)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		select {
		case <-exited:
			t.Fatal("dnsmasq exited during start-up")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := mdns.ExchangeContext(ctx, q, addr)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("dnsmasq on %s did not answer", addr)
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
