package milter_test

import (
	"path/filepath"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/internal/poll"
	"github.com/luamilter/luamilter/milter"
)

const acceptAll = `msys.registerModule("noop", {validate_connect = function(self, ac, vctx) return msys.core.VALIDATE_CONT end})`

func plainTx() milter.Transaction {
	return milter.Transaction{ClientIP: "192.0.2.1", Helo: "h.example", From: "a@example.org",
		Rcpts: []string{"b@example.com"}, Message: []byte("Subject: x\r\n\r\nbody\r\n")}
}

func TestMaxSessionsTempfailsAfterAShortWait(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{MaxSessions: 1}, acceptAll)
	held, err := srv.Client().Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := held.Conn("h", gomilter.FamilyInet, 1, "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	tr, err := srv.Play(plainTx())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Stage != "connect" || tr.Final.Reply != "421 4.3.2 Too many concurrent sessions, try again later" {
		t.Fatalf("over the cap: %+v", tr.Final)
	}
	held.Close()
	poll.Until(t, 5*time.Second, "the held session to close", func() bool { return srv.Milter.OpenSessions() == 0 })
	if tr, err = srv.Play(plainTx()); err != nil || tr.Final.Action != "accept" {
		t.Fatalf("after the held session closed: %+v %v", tr, err)
	}
}

func TestOversizeMessageGets552AndLeavesNoSpoolFile(t *testing.T) {
	srv := milttest.Start(t, milttest.Options{MaxMessageSize: 100 << 10, SpoolThreshold: 8 << 10},
		// The script reads the body, so the body is asked of the MTA.
		`msys.registerModule("m", {validate_data = function(self, msg, ac, vctx) local _ = #msg:body() return msys.core.VALIDATE_CONT end})`)
	big := plainTx()
	big.Message = append([]byte("Subject: big\r\n\r\n"), make([]byte, 200<<10)...)
	for i := range big.Message[16:] {
		big.Message[16+i] = 'x'
		if i%70 == 69 {
			big.Message[16+i] = '\n'
		}
	}
	tr, err := srv.Play(big)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final.Stage != "eom" || tr.Final.Reply != "552 5.3.4 Message size exceeds fixed limit" {
		t.Fatalf("oversize: %+v", tr.Final)
	}
	if files, _ := filepath.Glob(filepath.Join(srv.Dir, "luamilter-*")); len(files) != 0 {
		t.Fatalf("spool files left: %v", files)
	}
	// Under the limit but over the threshold: spooled to disk, accepted, removed.
	mid := plainTx()
	mid.Message = append([]byte("Subject: mid\r\n\r\n"), big.Message[16:16+(50<<10)]...)
	if tr, err = srv.Play(mid); err != nil || tr.Final.Action != "accept" {
		t.Fatalf("spooled message: %+v %v", tr, err)
	}
	if files, _ := filepath.Glob(filepath.Join(srv.Dir, "luamilter-*")); len(files) != 0 {
		t.Fatalf("spool files left: %v", files)
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct{ spec, network, addr string }{
		{"inet:127.0.0.1:8891", "tcp", "127.0.0.1:8891"},
		{"inet6:[::1]:8891", "tcp", "[::1]:8891"},
		{"8891@127.0.0.1", "tcp", "127.0.0.1:8891"},
		{"unix:/run/luamilter.sock", "unix", "/run/luamilter.sock"},
		{"local:/run/x.sock", "unix", "/run/x.sock"},
	}
	for _, tc := range tests {
		n, a, err := milter.ParseSpec(tc.spec)
		if err != nil || n != tc.network || a != tc.addr {
			t.Errorf("ParseSpec(%q) = %s %s %v", tc.spec, n, a, err)
		}
	}
	for _, bad := range []string{"", "tcp:1.2.3.4", "inet:nocolon", "unix:"} {
		if _, _, err := milter.ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}
