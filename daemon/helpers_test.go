package daemon

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/luamilter/luamilter/internal/logbuf"
	"github.com/luamilter/luamilter/internal/poll"
	"github.com/luamilter/luamilter/milter"
)

// testEnv is a live daemon on private sockets in a temp dir.
type testEnv struct {
	t      *testing.T
	dir    string
	cfgTOM string // config file path
	events string // file the scripts append init/deinit lines to
	d      *Daemon
	sock   string
	logs   *logbuf.Buffer
}

// genScript is a policy that tags each message with its generation, and
// records init and deinit in events. A guard module's init returns
// guardInit (a Lua expression), to make init fail on demand.
func genScript(events string, gen int, guardInit string) string {
	return fmt.Sprintf(`
local GEN = %d
local function record(what)
  local f = assert(io.open(%q, "a"))
  f:write(what .. " " .. GEN .. "\n")
  f:close()
end
local mod = {}
function mod.init() record("init") return true end
function mod.deinit() record("deinit") return true end
function mod:validate_mailfrom(str, ac, vctx)
  if string.find(tostring(str), "slow@", 1, true) then msys.sleep(0.2) end
  return msys.core.VALIDATE_CONT
end
function mod:validate_data(msg, ac, vctx)
  msg:header("X-Gen", tostring(GEN), "append")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("gen", mod)

local guard = {}
function guard.init()
  local ok = %s
  if ok ~= true then record("initfail") end
  return ok
end
function guard:validate_connect(ac, vctx) return msys.core.VALIDATE_CONT end
msys.registerModule("guard", guard)
`, gen, events, guardInit)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Write a sibling and rename, as deploy tools do, so a reload never
	// reads a half-written file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startDaemon writes config (with {{dir}} replaced) and starts a daemon
// reading it at every reload.
func startDaemon(t *testing.T, config string, files map[string]string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{t: t, dir: dir, events: filepath.Join(dir, "events.log"), sock: filepath.Join(dir, "milter.sock"),
		cfgTOM: filepath.Join(dir, "luamilter.toml"), logs: &logbuf.Buffer{}}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), strings.ReplaceAll(content, "{{dir}}", dir))
	}
	e.writeConfig(config)
	load := func() (Config, error) {
		cfg := Default()
		err := LoadFile(e.cfgTOM, &cfg)
		return cfg, err
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	level := &slog.LevelVar{}
	level.Set(slog.LevelDebug)
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: level}))
	d, err := New(cfg, Options{Log: log, Load: load, ConfigFile: e.cfgTOM, Level: level})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := d.Start(); err != nil {
		d.Shutdown(context.Background())
		t.Fatalf("Start: %v", err)
	}
	e.d = d
	t.Cleanup(func() {
		// Bounded, so that a test that failed with a session still open
		// reports the log instead of waiting for that session.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Shutdown(ctx)
		if t.Failed() {
			t.Logf("daemon log:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *testEnv) writeConfig(config string) {
	writeFile(e.t, e.cfgTOM, strings.ReplaceAll(config, "{{dir}}", e.dir))
}

// baseConfig listens on the env's unix socket with a control socket and
// metrics on a free loopback port.
const baseConfig = `
listen = ["unix:{{dir}}/milter.sock"]
control_socket = "{{dir}}/control.sock"
metrics_listen = "127.0.0.1:0"
unsafe_lua = true
spool_dir = "{{dir}}"
`

func tx(from string) milter.Transaction {
	return milter.Transaction{ClientIP: "192.0.2.7", ClientName: "client.example.net", Helo: "client.example.net",
		From: from, Rcpts: []string{"rcpt@example.com"}, QueueID: "Q1",
		Message: []byte("From: a@example.org\r\nTo: rcpt@example.com\r\nSubject: hi\r\n\r\nbody\r\n")}
}

func (e *testEnv) play(t *testing.T, from string) *milter.Trace {
	t.Helper()
	tr, err := milter.Play("unix", e.sock, tx(from))
	if err != nil {
		t.Fatalf("play: %v", err)
	}
	return tr
}

// genOf returns the X-Gen value a trace's modifications add, or -1.
func genOf(tr *milter.Trace) int {
	for _, m := range tr.Modifications {
		if i := strings.Index(m, "X-Gen:"); i >= 0 {
			n, err := strconv.Atoi(strings.TrimSpace(m[i+len("X-Gen:"):]))
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// scrape returns the metrics as "name{labels}" → value.
func (e *testEnv) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + e.d.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// eventCounts reads the events file: "init 3" → counts["init 3"].
func (e *testEnv) eventCounts(t *testing.T) map[string]int {
	t.Helper()
	b, err := os.ReadFile(e.events)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out[l]++
		}
	}
	return out
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 20*time.Second, what, cond)
}
