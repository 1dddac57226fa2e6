package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/luamilter/luamilter/milter"

	gomilter "github.com/d--j/go-milter"
)

const policyConfig = baseConfig + `
[[script]]
path = "policy.lua"
`

// longSession is a milter session driven step by step, as an MTA with a
// slow client would.
type longSession struct {
	sess *gomilter.ClientSession
}

func openLongSession(t *testing.T, sock string) *longSession {
	t.Helper()
	macros := gomilter.NewMacroBag()
	macros.Set("i", "LONG1")
	macros.Set("j", "mx.example.net")
	sess, err := gomilter.NewClient("unix", sock).Session(macros)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Conn("client.example.net", gomilter.FamilyInet, 25000, "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Helo("client.example.net"); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Mail("<long@example.org>", ""); err != nil {
		t.Fatal(err)
	}
	return &longSession{sess: sess}
}

// finish sends the rest of the message and returns the modifications.
func (l *longSession) finish(t *testing.T) []string {
	t.Helper()
	if _, err := l.sess.Rcpt("<rcpt@example.com>", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := l.sess.DataStart(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.sess.HeaderField("Subject", "long", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.sess.HeaderEnd(); err != nil {
		t.Fatal(err)
	}
	mods, act, err := l.sess.BodyReadFrom(bytes.NewReader([]byte("body\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if act.Type != gomilter.ActionAccept && act.Type != gomilter.ActionContinue {
		t.Fatalf("long session: final action %v", act)
	}
	var out []string
	for _, m := range mods {
		out = append(out, fmt.Sprintf("%s:%s", m.HeaderName, strings.TrimSpace(m.HeaderValue)))
	}
	return out
}

// TestReloadUnderLoad swaps the scripts 20 times while clients send mail
// in a loop: two of the new versions are broken (a syntax error, an
// init that returns false). It checks that no transaction fails, that a
// session begun before the reloads ends on the code it began with, that
// every generation's init has its deinit, that the broken versions
// change nothing, and that /metrics agrees with the traffic.
func TestReloadUnderLoad(t *testing.T) {
	e := startDaemon(t, policyConfig, map[string]string{"policy.lua": genScript("{{dir}}/events.log", 1, "true")})
	script := filepath.Join(e.dir, "policy.lua")
	wantGen := e.d.Generation()

	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	runErr := make(chan error, 1)
	go func() { runErr <- e.d.Run(ctx, sig) }()

	long := openLongSession(t, e.sock)

	var played atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failMu sync.Mutex
	var failures []string
	for c := 0; c < 3; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tr, err := playOnce(e.sock)
				if err == nil && (tr.Final.Action != "accept" || genOf(tr) < 1) {
					err = fmt.Errorf("final %s %s, modifications %v", tr.Final.Action, tr.Final.Reply, tr.Modifications)
				}
				if err != nil {
					failMu.Lock()
					failures = append(failures, err.Error())
					failMu.Unlock()
					return
				}
				played.Add(1)
			}
		}()
	}

	type version struct {
		n      int
		script string
		ok     bool
		errHas string
	}
	var versions []version
	for i := 1; i <= 20; i++ {
		v := version{n: i + 1, ok: true}
		switch i {
		case 8:
			v.script, v.ok, v.errHas = "local x = 1\nfunction broken(\n", false, "policy.lua"
		case 12:
			v.script, v.ok, v.errHas = genScript(e.events, v.n, "false"), false, "init returned false"
		default:
			v.script = genScript(e.events, v.n, "true")
		}
		versions = append(versions, v)
	}
	okVersions := []int{1}
	reloads := func() float64 {
		m := e.scrape(t)
		return m[`luamilter_reloads_total{result="success"}`] + m[`luamilter_reloads_total{result="failure"}`]
	}
	for i, v := range versions {
		writeFile(t, script, v.script)
		before := e.d.Generation()
		var err error
		switch i % 3 {
		case 0: // SIGHUP through Run
			n := reloads()
			sig <- syscall.SIGHUP
			eventually(t, "SIGHUP reload", func() bool { return reloads() > n })
			if e.d.Generation() == before {
				err = fmt.Errorf("SIGHUP reload failed")
			}
		case 1:
			_, err = Control(context.Background(), filepath.Join(e.dir, "control.sock"), "reload")
		default:
			_, err = e.d.Reload(context.Background())
		}
		if v.ok {
			if err != nil {
				t.Fatalf("reload to version %d: %v", v.n, err)
			}
			wantGen++
			okVersions = append(okVersions, v.n)
		} else {
			if err == nil {
				t.Fatalf("reload to broken version %d succeeded", v.n)
			}
			if i%3 != 0 && !strings.Contains(err.Error(), v.errHas) {
				t.Errorf("reload error %q does not mention %q", err, v.errHas)
			}
		}
		if got := e.d.Generation(); got != wantGen {
			t.Fatalf("after version %d: generation %d, want %d", v.n, got, wantGen)
		}
		// Let traffic run on each generation.
		n := played.Load()
		eventually(t, "traffic after reload", func() bool {
			failMu.Lock()
			defer failMu.Unlock()
			return played.Load() >= n+3 || len(failures) > 0
		})
		tr := e.play(t, "check@example.org")
		if want := okVersions[len(okVersions)-1]; genOf(tr) != want {
			t.Fatalf("after reload to version %d: new session ran version %d, want %d", v.n, genOf(tr), want)
		}
		played.Add(1)
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d transaction(s) failed during reloads, first: %s", len(failures), failures[0])
	}

	// The long session began on version 1 and must end on it; version
	// 1's deinit waits for it.
	if c := e.eventCounts(t); c["deinit 1"] != 0 {
		t.Fatalf("version 1 was retired while a session still used it")
	}
	mods := long.finish(t)
	if fmt.Sprint(mods) != "[X-Gen:1]" {
		t.Fatalf("long session modifications %v, want the old version's [X-Gen:1]", mods)
	}
	long.sess.Close()
	played.Add(1)
	eventually(t, "version 1 deinit after its last session", func() bool { return e.eventCounts(t)["deinit 1"] == 1 })

	eventually(t, "sessions closed", func() bool { return e.scrape(t)["luamilter_sessions_open"] == 0 })
	m := e.scrape(t)
	total := float64(played.Load())
	for name, want := range map[string]float64{
		`luamilter_messages_total{action="accept"}`:                                      total,
		`luamilter_messages_total{action="reject"}`:                                      0,
		`luamilter_messages_total{action="tempfail"}`:                                    0,
		`luamilter_sessions_total`:                                                       total,
		`luamilter_reloads_total{result="success"}`:                                      float64(len(okVersions) - 1),
		`luamilter_reloads_total{result="failure"}`:                                      2,
		`luamilter_generation`:                                                           float64(wantGen),
		`luamilter_callout_duration_seconds_count{callout="validate_data",module="gen"}`: total,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	for name, v := range m {
		if strings.HasPrefix(name, "luamilter_script_errors_total") && v != 0 {
			t.Errorf("%s = %v, want 0", name, v)
		}
	}

	t.Logf("%v transactions, versions %v, generation %d; events %v", total, okVersions, wantGen, e.eventCounts(t))
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	counts := e.eventCounts(t)
	for _, n := range okVersions {
		if counts[fmt.Sprintf("init %d", n)] != 1 || counts[fmt.Sprintf("deinit %d", n)] != 1 {
			t.Errorf("version %d: init %d time(s), deinit %d time(s), want 1 and 1", n,
				counts[fmt.Sprintf("init %d", n)], counts[fmt.Sprintf("deinit %d", n)])
		}
	}
	// Version 9 never compiled; version 13's guard init returned false:
	// its first module's init ran and was undone by its deinit.
	if counts["init 9"] != 0 || counts["deinit 9"] != 0 {
		t.Errorf("syntax-error version ran init or deinit: %v", counts)
	}
	if counts["init 13"] != 1 || counts["initfail 13"] != 1 || counts["deinit 13"] != 1 {
		t.Errorf("failed-init version: init %d, initfail %d, deinit %d; want 1, 1, 1",
			counts["init 13"], counts["initfail 13"], counts["deinit 13"])
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "reload failed") || !strings.Contains(logs, "file="+script) {
		t.Errorf("failed reloads not logged with the file:\n%s", logs)
	}
}

func playOnce(sock string) (*milter.Trace, error) {
	return milter.Play("unix", sock, tx("sender@example.org"))
}
