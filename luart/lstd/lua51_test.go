package lstd

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/lua51"
)

// The differential tests run the same generated Lua code through the
// reference lua5.1 binary and through gopher-lua with Install applied, and
// compare what each case returns or the error it raises.

// diffCase is one Lua function body whose result (or error) is compared.
type diffCase struct {
	body   string // Lua statements ending in "return <value>"
	approx bool   // numeric result compared with a relative tolerance
}

func ret(expr string) diffCase { return diffCase{body: "local r = " + expr + "; return r"} }

func approx(expr string) diffCase {
	c := ret(expr)
	c.approx = true
	return c
}

// approxEqual compares two "OK number <tostring> <%.17g>" records with a
// relative tolerance of 1e-12; NaNs match whatever their sign.
func approxEqual(w, g string) bool {
	wf, g1 := strings.Fields(w), strings.Fields(g)
	if len(wf) != 4 || len(g1) != 4 || wf[1] != "number" || g1[1] != "number" {
		return false
	}
	a, err1 := strconv.ParseFloat(strings.TrimPrefix(wf[3], "-"), 64)
	b, err2 := strconv.ParseFloat(strings.TrimPrefix(g1[3], "-"), 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if strings.HasPrefix(wf[3], "-") != strings.HasPrefix(g1[3], "-") {
		return a == 0 && b == 0
	}
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(a, b)
}

// driverPrelude formats each result identically on both sides; only emit
// (write one length-prefixed record) differs.
const driverPrelude = `
local function show(v)
  local t = type(v)
  if t == "number" then return "number " .. tostring(v) .. " " .. string.format("%.17g", v) end
  if t == "table" then
    local out = {}
    for _, k in ipairs({"sec","min","hour","day","month","year","wday","yday","isdst"}) do
      out[#out+1] = k .. "=" .. tostring(v[k])
    end
    return "table " .. table.concat(out, ",")
  end
  if t == "string" or t == "boolean" or t == "nil" then return t .. " " .. tostring(v) end
  return t
end
function run(f)
  local ok, r = pcall(f)
  if ok then emit("OK " .. show(r)) else emit("ERR " .. tostring(r)) end
end
`

const lua51Emit = `function emit(s) io.write(#s, ":", s, "\n") end` + "\n"

func buildScript(cases []diffCase) string {
	var b strings.Builder
	b.WriteString(driverPrelude)
	for _, c := range cases {
		b.WriteString("run(function() ")
		b.WriteString(c.body)
		b.WriteString(" end)\n")
	}
	return b.String()
}

func parseRecords(t testing.TB, out []byte) []string {
	t.Helper()
	var recs []string
	for len(out) > 0 {
		i := bytes.IndexByte(out, ':')
		if i < 0 {
			t.Fatalf("malformed driver output near %q", out[:min(len(out), 40)])
		}
		n, err := strconv.Atoi(string(out[:i]))
		if err != nil || i+1+n+1 > len(out) {
			t.Fatalf("malformed record length %q", out[:i])
		}
		recs = append(recs, string(out[i+1:i+1+n]))
		out = out[i+1+n+1:]
	}
	return recs
}

func runLua51(t testing.TB, script string, env []string) []string {
	t.Helper()
	path := lua51.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(lua51Emit + script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lua5.1: %v: %s", err, stderr.String())
	}
	return parseRecords(t, out)
}

func newState(lim Limits) *lua.LState {
	L := lua.NewState()
	Install(L, lim)
	return L
}

func runGopher(t testing.TB, script string, lim Limits) []string {
	t.Helper()
	L := newState(lim)
	defer L.Close()
	var recs []string
	L.SetGlobal("emit", L.NewFunction(func(L *lua.LState) int {
		recs = append(recs, L.CheckString(1))
		return 0
	}))
	if err := L.DoString(script); err != nil {
		t.Fatalf("gopher-lua: %v", err)
	}
	return recs
}

var wherePrefix = regexp.MustCompile(`^ERR [^ :]*:\d+: `)

func normalize(rec string) string {
	return wherePrefix.ReplaceAllString(rec, "ERR ")
}

// diffRun runs cases on both interpreters and reports mismatches; it
// returns the number of cases compared.
func diffRun(t *testing.T, name string, cases []diffCase, lim Limits, env []string) int {
	t.Helper()
	script := buildScript(cases)
	want := runLua51(t, script, env)
	got := runGopher(t, script, lim)
	if len(want) != len(cases) || len(got) != len(cases) {
		t.Fatalf("%s: %d cases, lua5.1 gave %d results, gopher-lua %d", name, len(cases), len(want), len(got))
	}
	bad, errs := 0, 0
	for i := range cases {
		if strings.HasPrefix(want[i], "ERR") {
			errs++
		}
		w, g := normalize(want[i]), normalize(got[i])
		if w != g && !(cases[i].approx && approxEqual(w, g)) {
			bad++
			if bad <= 25 {
				t.Errorf("%s case %d: %s\n  lua5.1: %q\n  gopher: %q", name, i, cases[i].body, w, g)
			}
		}
	}
	t.Logf("%s: %d cases compared with lua5.1 (%d of them errors), %d mismatches", name, len(cases), errs, bad)
	return len(cases)
}

// luaString returns a Lua literal for s using only decimal escapes, which
// both lexers read the same way.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
