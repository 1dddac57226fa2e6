package lpattern

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/lua51"
)

const driverPath = "testdata/driver.lua"

// runReference runs the cases through lua5.1 in batches. A batch that
// times out is restarted after the case it was stuck on; that case is
// reported in skipped instead of results.
func runReference(t *testing.T, luaBin, casefile string, n int) (results map[int]string, skipped []int) {
	results = make(map[int]string, n)
	driver, err := filepath.Abs(driverPath)
	if err != nil {
		t.Fatal(err)
	}
	for next := 1; next <= n; {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, luaBin, driver, casefile, strconv.Itoa(next))
		cmd.WaitDelay = time.Second
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, runErr := cmd.Output()
		timedOut := ctx.Err() != nil
		cancel()
		done := false
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			line := sc.Text()
			if line == "done" {
				done = true
				break
			}
			i, rest, ok := splitResult(line)
			if !ok {
				t.Fatalf("lua5.1: bad output line %q", line)
			}
			results[i] = rest
			next = i + 1
		}
		switch {
		case done:
			return results, skipped
		case timedOut:
			skipped = append(skipped, next)
			next++
		default:
			t.Fatalf("lua5.1 failed before case %d: %v: %s", next, runErr, stderr.String())
		}
	}
	return results, skipped
}

func splitResult(line string) (int, string, bool) {
	num, rest, ok := strings.Cut(line, " ")
	if !ok {
		return 0, "", false
	}
	i, err := strconv.Atoi(num)
	return i, rest, err == nil
}

// runOurs runs the cases through gopher-lua with this package installed.
func runOurs(t *testing.T, casefile string) map[int]string {
	results := make(map[int]string)
	L := lua.NewState()
	defer L.Close()
	Install(L, L.GetGlobal("string").(*lua.LTable), Limits{})
	L.SetGlobal("CASEFILE", lua.LString(casefile))
	L.SetGlobal("EMIT", L.NewFunction(func(L *lua.LState) int {
		line := L.CheckString(1)
		if i, rest, ok := splitResult(line); ok {
			results[i] = rest
		}
		return 0
	}))
	if err := L.DoFile(driverPath); err != nil {
		t.Fatalf("run driver in gopher-lua: %v", err)
	}
	return results
}

// positionPrefix matches the "chunk:line: " that luaL_error and
// gopher-lua's RaiseError put before messages.
var positionPrefix = regexp.MustCompile(`^[^:\n]*:\d+: `)

// normalize decodes an error result and strips its position prefix, so
// that messages compare by text alone.
func normalize(r string) string {
	h, ok := strings.CutPrefix(r, "err ")
	if !ok {
		return r
	}
	msg, err := hex.DecodeString(h)
	if err != nil {
		return r
	}
	return "err " + positionPrefix.ReplaceAllString(string(msg), "")
}

func TestDifferentialAgainstLua51(t *testing.T) {
	luaBin := lua51.Path(t)
	cases := handCases()
	n, seed := 4000, uint64(20240601)
	// LPATTERN_DIFF_CASES and LPATTERN_DIFF_SEED widen the search locally.
	if v, err := strconv.Atoi(os.Getenv("LPATTERN_DIFF_CASES")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.ParseUint(os.Getenv("LPATTERN_DIFF_SEED"), 10, 64); err == nil {
		seed = v
	}
	g := newGen(seed)
	for range n {
		cases = append(cases, g.testCase())
	}
	casefile := filepath.Join(t.TempDir(), "cases.lua")
	if err := os.WriteFile(casefile, []byte(casesFile(cases)), 0o600); err != nil {
		t.Fatal(err)
	}
	ref, skipped := runReference(t, luaBin, casefile, len(cases))
	ours := runOurs(t, casefile)
	compared, failures := 0, 0
	kinds := map[string]int{}
	for i, c := range cases {
		want, ok := ref[i+1]
		if !ok {
			continue
		}
		compared++
		w, g := normalize(want), normalize(ours[i+1])
		kinds[resultKind(w)]++
		if w != g {
			failures++
			if failures <= 25 {
				t.Errorf("case %d %s:\n  lua5.1: %s\n  ours:   %s", i+1, c.lua(), w, g)
			}
		}
	}
	t.Logf("compared %d cases with lua5.1 (%d skipped after reference timeout, %d mismatches)",
		compared, len(skipped), failures)
	t.Logf("reference results by kind: %v", kinds)
	if compared < len(cases)/2 {
		t.Errorf("only %d of %d cases compared", compared, len(cases))
	}
}

// resultKind classifies a normalized result for the coverage summary.
func resultKind(r string) string {
	switch {
	case strings.HasPrefix(r, "err "):
		return r
	case r == "ok nil":
		return "no match"
	case r == "ok s":
		return "empty"
	default:
		return "values"
	}
}
