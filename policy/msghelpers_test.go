package policy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/modules/pcre"
)

// The message API tests run scripts in the real milter server and read
// what the scripts saw from the SMTP reply: report(vctx, value) rejects
// with the value escaped, and reported() decodes it.

// luaPrelude defines report(), which every test script can call.
const luaPrelude = `
local function esc(s)
  return (tostring(s):gsub("[^%w %.%-_:@<>=/,;!?()%[%]+*#&|~{}]", function(c)
    return string.format("\\x%02x", c:byte())
  end))
end
function report(vctx, ...)
  local out = {}
  for i = 1, select("#", ...) do out[#out+1] = esc(select(i, ...)) end
  vctx:set_code(550, "5.7.1 R:" .. table.concat(out, "|"))
end
function dump(v)
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys+1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do out[#out+1] = tostring(k) .. "=" .. dump(v[k]) end
  return "{" .. table.concat(out, ",") .. "}"
end
`

// startMsg serves a script (prefixed with the prelude) with the pcre
// engine configured, played in process: these tests are about what the
// scripts see and do, not the wire.
func startMsg(t *testing.T, opts milttest.Options, script string) *milttest.Server {
	t.Helper()
	opts.Direct = true
	return startWire(t, opts, script)
}

// startWire is startMsg on a socket, for the tests of what the server
// around the engine does with the wire: spool files, size limits, slots.
func startWire(t *testing.T, opts milttest.Options, script string) *milttest.Server {
	t.Helper()
	if opts.Regex == nil {
		opts.Regex = pcre.NewEngine(pcre.Options{})
	}
	return milttest.Start(t, opts, luaPrelude+script)
}

// dataScript wraps a validate_data body.
func dataScript(body string) string {
	return calloutScript("validate_data", "msg, ac, vctx", body)
}

// play runs msg through s with the given recipients (default one).
func play(t *testing.T, s *milttest.Server, msg string, rcpts ...string) *milter.Trace {
	t.Helper()
	if len(rcpts) == 0 {
		rcpts = []string{"rcpt@example.com"}
	}
	tr, err := s.Play(milter.Transaction{ClientIP: "192.0.2.1", ClientName: "client.example.net", Helo: "client.example.net",
		From: "sender@example.org", Rcpts: rcpts, Message: []byte(msg), QueueID: "Q1"})
	if err != nil {
		t.Fatalf("play: %v\nlog:\n%s", err, s.Logs())
	}
	return tr
}

// reported returns the values a script passed to report().
func reported(t *testing.T, s *milttest.Server, tr *milter.Trace) []string {
	t.Helper()
	_, text, ok := strings.Cut(tr.Final.Reply, "R:")
	if !ok {
		t.Fatalf("script reported nothing; final %+v\nlog:\n%s", tr.Final, s.Logs())
	}
	var out []string
	for _, f := range strings.Split(text, "|") {
		out = append(out, unescape(t, f))
	}
	return out
}

// wantReported fails t unless the script reported exactly want.
func wantReported(t *testing.T, s *milttest.Server, tr *milter.Trace, want []string) {
	t.Helper()
	if got := reported(t, s, tr); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// wantAccepted fails t unless the message was accepted with exactly the
// modifications want.
func wantAccepted(t *testing.T, s *milttest.Server, tr *milter.Trace, want []string) {
	t.Helper()
	wantOutcome(t, s, tr, "accept", want, "")
}

// wantOutcome fails t unless the message ended with final and exactly
// the modifications want, and the log holds log.
func wantOutcome(t *testing.T, s *milttest.Server, tr *milter.Trace, final string, want []string, log string) {
	t.Helper()
	if tr.Final.Action != final {
		t.Fatalf("final %+v, want %s\n%s", tr.Final, final, s.Logs())
	}
	if got, want := mods(tr), strings.Join(want, "\n"); got != want {
		t.Fatalf("modifications:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(s.Logs(), log) {
		t.Fatalf("log lacks %q:\n%s", log, s.Logs())
	}
}

func unescape(t *testing.T, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s)+0 && s[i+1] == 'x' {
			n, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				t.Fatalf("bad escape in %q", s)
			}
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// fixture reads policy/testdata/name.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mods returns the trace's modifications, one per line, for comparisons.
func mods(tr *milter.Trace) string {
	return strings.Join(tr.Modifications, "\n")
}

// bodyOf returns the replacement body among the raw modifications, or
// false when the body was not replaced.
func bodyOf(tr *milter.Trace) (string, bool) {
	var b []byte
	found := false
	for _, m := range tr.Raw {
		if m.Type == gomilter.ActionReplaceBody {
			b = append(b, m.Body...)
			found = true
		}
	}
	return string(b), found
}

func q(s string) string { return fmt.Sprintf("%q", s) }

func newRegex() *pcre.Engine { return pcre.NewEngine(pcre.Options{}) }
