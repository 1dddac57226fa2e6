package milter_test

import (
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

// The fuzz targets play hostile sessions against a live in-process
// server, the way a local process on the milter socket could, and check
// after each that the server is whole: it did not panic (the fuzzing
// process would die), closed the connection in time, and gave back the
// session slot, the spool files and the goroutines it used.
//
// A short run of each is part of the test command; a long one is
//
//	go test -run X -fuzz FuzzRawSession -fuzztime 30m -timeout 0 ./milter/
//	go test -run X -fuzz FuzzStructuredSession -fuzztime 30m -timeout 0 ./milter/
//
// With LUAMILTER_FUZZ_SOCKET=/path/to/milter.sock the targets play against
// a running `luamilter serve` instead (scripts/fuzz-daemon.sh starts one):
// a death of the daemon then shows as refused connections, and the checks
// read its metrics (LUAMILTER_FUZZ_METRICS, e.g. http://127.0.0.1:9891)
// and its spool directory (LUAMILTER_FUZZ_SPOOL).

// fuzzPolicy (testdata/fuzz-policy.lua) reads the body, edits headers
// and spools large bodies, so a session touches every buffer a message
// can leave behind. scripts/fuzz-daemon.sh serves the same file.
const fuzzPolicy = "testdata/fuzz-policy.lua"

// fuzzTarget is what the fuzz targets play against and check.
type fuzzTarget struct {
	socket   string
	spoolDir string
	// atRest reports the server's open sessions and, for a server in
	// this process, goroutines over base; ok false when it can't tell.
	open       func() (int64, bool)
	inProcess  bool
	metricsURL string
}

// fuzzServer starts the server one fuzzing process uses for all inputs,
// or points at a running daemon.
func fuzzServer(f *testing.F) *fuzzTarget {
	if sock := os.Getenv("LUAMILTER_FUZZ_SOCKET"); sock != "" {
		t := &fuzzTarget{socket: sock, spoolDir: os.Getenv("LUAMILTER_FUZZ_SPOOL"), metricsURL: os.Getenv("LUAMILTER_FUZZ_METRICS")}
		t.open = t.daemonOpenSessions
		return t
	}
	srv := milttest.Start(f, milttest.Options{MaxSessions: 4, SpoolThreshold: 1 << 10, MaxMessageSize: 256 << 10,
		Timeout: 2 * time.Second, ReadTimeout: time.Second, IdleTimeout: 2 * time.Second}, readFile(f, fuzzPolicy))
	return &fuzzTarget{socket: srv.Socket, spoolDir: srv.Dir, inProcess: true,
		open: func() (int64, bool) { return srv.Milter.OpenSessions(), true }}
}

// daemonOpenSessions reads luamilter_sessions_open from the daemon.
func (ft *fuzzTarget) daemonOpenSessions() (int64, bool) {
	if ft.metricsURL == "" {
		return 0, true
	}
	resp, err := http.Get(ft.metricsURL + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "luamilter_sessions_open "); ok {
			n, err := strconv.ParseFloat(v, 64)
			return int64(n), err == nil
		}
	}
	return 0, false
}

// playRaw sends optneg and stream on one connection, half-closes it and
// reads until the server closes, then checks the server is whole.
func playRaw(t *testing.T, srv *fuzzTarget, stream []byte) {
	// Goroutines are counted per input: the fuzzing engine starts its
	// own after the target begins.
	goroutines := runtime.NumGoroutine()
	c, err := net.Dial("unix", srv.socket)
	if err != nil {
		t.Fatalf("the server is gone: %v", err)
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, err := c.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Error("hang: the server neither answered nor closed within 10s")
				}
				return
			}
		}
	}()
	c.Write(append(optNeg(), stream...))
	c.(*net.UnixConn).CloseWrite()
	<-done
	checkWhole(t, srv, goroutines)
}

// checkWhole waits for the server to be back at rest.
func checkWhole(t *testing.T, srv *fuzzTarget, goroutines int) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		open, known := srv.open()
		spooled := 0
		if srv.spoolDir != "" {
			spooled = spoolFiles(t, srv.spoolDir)
		}
		extra := 0
		if srv.inProcess {
			extra = runtime.NumGoroutine() - goroutines
		}
		if known && open == 0 && spooled == 0 && extra <= 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not at rest: %d open sessions (known %v), %d spool files, %d goroutines more than at start", open, known, spooled, extra)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spoolFiles counts luamilter's spool files in dir.
func spoolFiles(t *testing.T, dir string) int {
	names, err := filepath.Glob(filepath.Join(dir, milter.SpoolFilePrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(names)
}

func readFile(f *testing.F, name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	return string(b)
}

// validSession is a whole transaction as packets, the seed both targets
// mutate.
func validSession() [][]byte {
	return [][]byte{
		packet('D', "Cj\x00mx.example\x00{client_addr}\x00192.0.2.1\x00"),
		packet('C', "client.example\x004\x61\xa8192.0.2.1\x00"),
		packet('H', "client.example\x00"),
		packet('D', "Mi\x00ABC123\x00"),
		packet('M', "<a@example.org>\x00SIZE=100\x00"),
		packet('R', "<b@example.com>\x00"),
		packet('R', "<reject@example.com>\x00"),
		packet('T', ""),
		packet('L', "Subject\x00 hello\x00"),
		packet('L', "From\x00 a@example.org\x00"),
		packet('N', ""),
		packet('B', strings.Repeat("body line\r\n", 200)),
		packet('B', "tempfail\r\n"),
		packet('E', ""),
		packet('A', ""),
		packet('M', "<c@example.org>\x00"),
		packet('K', ""),
		packet('C', "other\x006\x00\x19IPv6:2001:db8::1\x00"),
		packet('Q', ""),
	}
}

func joined(pkts [][]byte) []byte {
	var out []byte
	for _, p := range pkts {
		out = append(out, p...)
	}
	return out
}

// FuzzRawSession sends arbitrary bytes after a valid negotiation: length
// prefixes, codes and payloads all come from the fuzzer.
func FuzzRawSession(f *testing.F) {
	srv := fuzzServer(f)
	f.Add(joined(validSession()))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0x20, 0, 0, 0, 'B'})
	f.Add(packet('C', "host"))
	f.Add(packet('M', "<a@b>"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		playRaw(t, srv, stream)
	})
}

// FuzzStructuredSession frames what the fuzzer gives as packets with
// correct lengths, so the mutations reach the command parsers and the
// session's state machine instead of dying at the length check. The
// input is a sequence of code, 16-bit length and data.
func FuzzStructuredSession(f *testing.F) {
	srv := fuzzServer(f)
	var seed []byte
	for _, p := range validSession() {
		data := p[5:]
		seed = append(seed, p[4])
		seed = binary.BigEndian.AppendUint16(seed, uint16(len(data)))
		seed = append(seed, data...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, in []byte) {
		var stream []byte
		for len(in) >= 3 {
			code, n := in[0], int(binary.BigEndian.Uint16(in[1:3]))
			in = in[3:]
			n = min(n, len(in))
			stream = append(stream, packet(code, string(in[:n]))...)
			in = in[n:]
		}
		playRaw(t, srv, stream)
	})
}
