package policy_test

import (
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
)

// scanText is the block the body-scan benchmark bodies repeat: mail text
// with no capitalised word before digits and none of the alternation's
// words, so that every benchmark pattern reads the whole body.
const scanText = "Dear customer, thank you for your order of the blue widget.\r\n" +
	"Your parcel leaves our warehouse today and should arrive within three working days.\r\n" +
	"If anything is missing, reply to this message and our support team will help you.\r\n" +
	"Kind regards, the Example Shop team.\r\n"

// scanMessage is a message whose body is scanText repeated to n bytes.
func scanMessage(n int) []byte {
	var b strings.Builder
	b.Grow(n + 200)
	b.WriteString("From: shop@example.org\r\nTo: rcpt@example.com\r\nSubject: your order\r\n\r\n")
	for b.Len() < n {
		b.WriteString(scanText)
	}
	return []byte(b.String())
}

// scanPatterns are the shapes a content policy scans bodies with: a
// literal, a case-insensitive alternation, and \b with classes.
var scanPatterns = []struct{ name, re string }{
	{"literal", `unsubscribe`},
	{"caseless-alternation", `(?i)(?:viagra|cialis|casino|lottery)`},
	{"word-class", `\b[A-Z][a-z]+\s+\d{3,}\b`},
}

// scanClock is a Lua library, bench.timed(f), that runs f and adds its
// wall time and the bytes the process allocated meanwhile to counters.
// The benchmark client waits for the end-of-message reply while the
// callout runs, so the allocations are the call's.
type scanClock struct {
	calls, nanos, bytes atomic.Int64
}

func (*scanClock) Name() string { return "bench" }

func (c *scanClock) Open(L *lua.LState, _ *luart.Env) lua.LValue {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	allocated := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64())
	}
	return L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"timed": func(L *lua.LState) int {
			f := L.CheckFunction(1)
			a0, t0 := allocated(), time.Now()
			L.Push(f)
			L.Call(0, 1)
			c.nanos.Add(int64(time.Since(t0)))
			c.bytes.Add(allocated() - a0)
			c.calls.Add(1)
			return 1
		},
	})
}

// report adds the per-call figures of the timed calls to b: scanned
// MB/s and bytes allocated per call.
func (c *scanClock) report(b *testing.B, subject int) {
	n := c.calls.Load()
	if n == 0 || c.nanos.Load() == 0 {
		return
	}
	b.ReportMetric(float64(subject)*float64(n)/(float64(c.nanos.Load())/1e9)/1e6, "scan-MB/s")
	b.ReportMetric(float64(c.bytes.Load())/float64(n), "scan-B/call")
}

// BenchmarkBodyScan plays a message through a policy that matches its
// body with msg:body_match three times, through the real milter server
// and engine, for each scan pattern and for 256 KB and 10 MB bodies that
// do not match. B/op counts the whole transaction, the test client's side
// included; B/msgbyte is that divided by the message size. The first
// match reads the body into memory; scan-MB/s and scan-B/call are those
// of the second and third matches, which only search.
func BenchmarkBodyScan(b *testing.B) {
	for _, p := range scanPatterns {
		for _, size := range []struct {
			name string
			n    int
		}{{"256KB", 256 << 10}, {"10MB", 10 << 20}} {
			b.Run(p.name+"/"+size.name, func(b *testing.B) {
				benchBodyPolicy(b, size.n, `
  if msg:body_match(PATTERN) then error("matched") end
  for i = 1, 2 do
    if bench.timed(function() return msg:body_match(PATTERN) end) then error("matched") end
  end`, p.re)
			})
		}
	}
}

// BenchmarkBodyEdit is BenchmarkBodyScan's 10 MB body through the other
// body methods: raw_match (header and body as one subject) and a
// body_replace that changes the body once.
func BenchmarkBodyEdit(b *testing.B) {
	for _, c := range []struct{ name, lua string }{
		{"raw_match", `
  if msg:raw_match(PATTERN) then error("matched") end
  for i = 1, 2 do
    if bench.timed(function() return msg:raw_match(PATTERN) end) then error("matched") end
  end`},
		{"body_replace", `
  if not bench.timed(function() return msg:body_replace("Kind regards", "Regards") end) then error("no replace") end`},
	} {
		b.Run(c.name+"/10MB", func(b *testing.B) { benchBodyPolicy(b, 10<<20, c.lua, scanPatterns[0].re) })
	}
}

// benchBodyPolicy times messages of n bytes through a validate_data that
// runs code, with PATTERN bound to pattern.
func benchBodyPolicy(b *testing.B, n int, code, pattern string) {
	clock := &scanClock{}
	script := `
local bench = require("bench")
local PATTERN = ` + luaQuote(pattern) + `
local mod = {}
function mod:validate_data(msg, ac, vctx)` + code + `
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
	s := milttest.Start(b, milttest.Options{Regex: newRegex(), Libraries: []luart.Library{clock},
		SpoolThreshold: 1 << 20, MaxMessageSize: 64 << 20, Timeout: time.Minute}, script)
	msg := scanMessage(n)
	tx := milter.Transaction{ClientIP: "192.0.2.1", Helo: "h", From: "a@example.org", Rcpts: []string{"b@example.com"}, Message: msg}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for b.Loop() {
		tr, err := s.Play(tx)
		if err != nil || tr.Final.Action != "accept" {
			b.Fatalf("%+v %v\n%s", tr, err, s.Logs())
		}
	}
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N)/float64(len(msg)), "B/msgbyte")
	clock.report(b, n)
}

// luaQuote is s as a Lua long string literal.
func luaQuote(s string) string {
	eq := ""
	for strings.Contains(s, "]"+eq+"]") {
		eq += "="
	}
	return "[" + eq + "[" + s + "]" + eq + "]"
}
