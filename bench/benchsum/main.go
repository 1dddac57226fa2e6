// Command benchsum prints the tables of a bench/run.sh results directory:
// per combination the median over repetitions of throughput, latency and
// milter CPU per 10,000 transactions of each milter, with the ratios to
// the Go floor and to the lean floor (see floors), and the milters'
// memory.
//
// usage: benchsum RESULTS_DIR
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// report is the part of milterload's JSON report that is summarised.
type report struct {
	Label        string `json:"label"`
	Seconds      float64
	Transactions int64
	TPS          float64 `json:"tps"`
	Latency      map[string]struct {
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
	} `json:"latency"`
	Errors          int64   `json:"errors"`
	Mismatches      int64   `json:"policy_mismatches"`
	MilterCPUPer10k float64 `json:"milter_cpu_s_per_10k"`
	MilterRSSMaxKiB int64   `json:"milter_rss_max_kib"`
	OtherCPUSeconds float64 `json:"other_cpu_s"`
	Sessions        int64   `json:"sessions_opened"`
}

// cell is the median of one milter at one combination.
type cell struct {
	n                        int
	tps, p50, p99, cpu, load float64
	rss                      int64
	bad                      int64
}

// floors names, for each milter, the Go floor and the lean floor its
// ratios are taken against ("" for none). The Go floor answers every
// event; the lean floor is plain Go that, like luamilter, asks the MTA
// only for what the policy needs, and for the content milters it is the
// lean floor that scans the body too. A milter not listed is compared
// with go and go-lean.
var floors = map[string][2]string{
	"go":          {"", ""},
	"go-lean":     {"go", ""},
	"go-content":  {"", ""},
	"lua-content": {"", "go-content"},
}

func floorsOf(m string) (goFloor, lean string) {
	if f, ok := floors[m]; ok {
		return f[0], f[1]
	}
	return "go", "go-lean"
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchsum RESULTS_DIR")
		os.Exit(2)
	}
	if err := summarize(os.Stdout, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "benchsum:", err)
		os.Exit(1)
	}
}

func summarize(w io.Writer, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no milterload reports in %s", dir)
	}
	runs := map[[2]string][]report{} // {milter, combo}
	var milters, combos []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		parts := strings.Fields(r.Label)
		if len(parts) != 3 {
			return fmt.Errorf("%s: label %q is not \"milter combo rep\"", f, r.Label)
		}
		key := [2]string{parts[0], parts[1]}
		runs[key] = append(runs[key], r)
		if !slices.Contains(milters, parts[0]) {
			milters = append(milters, parts[0])
		}
		if !slices.Contains(combos, parts[1]) {
			combos = append(combos, parts[1])
		}
	}
	order(milters, []string{"go", "go-lean", "lua", "lua-all", "go-content", "lua-content"})
	order(combos, []string{"c1-4k", "c8-4k", "c64-4k", "c1-256k", "c8-256k", "c64-256k", "sessions", "sessions-hog"})

	io.WriteString(w, "| combo | milter | tx/s | p50 ms | p99 ms | milter CPU-s/10k | tx/s ÷ Go | CPU ÷ Go | tx/s ÷ lean | CPU ÷ lean | RSS max MiB | other load %core | runs | errors+mismatches |\n")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range combos {
		if strings.HasPrefix(c, "sessions") {
			continue
		}
		for _, m := range milters {
			rs := runs[[2]string{m, c}]
			if len(rs) == 0 {
				continue
			}
			x, _ := median(rs)
			goFloor, lean := floorsOf(m)
			tg, cg := ratios(x, runs[[2]string{goFloor, c}])
			tl, cl := ratios(x, runs[[2]string{lean, c}])
			fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %.1f | %.2f | %s | %s | %s | %s | %.1f | %.0f | %d | %d |\n",
				c, m, x.tps, x.p50, x.p99, x.cpu, tg, cg, tl, cl, float64(x.rss)/1024, x.load, x.n, x.bad)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Memory: milter RSS, maximum sampled during the run (MiB)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| milter | c64-4k | c64-256k | concurrent sessions (4 KB) | concurrent sessions, CPU hogs beside |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, m := range milters {
		row := []string{m}
		for _, c := range []string{"c64-4k", "c64-256k", "sessions", "sessions-hog"} {
			x, ok := median(runs[[2]string{m, c}])
			switch {
			case !ok:
				row = append(row, "–")
			case strings.HasPrefix(c, "sessions"):
				row = append(row, fmt.Sprintf("%.1f (%d sessions)", float64(x.rss)/1024, sessionsOf(runs[[2]string{m, c}])))
			default:
				row = append(row, fmt.Sprintf("%.1f", float64(x.rss)/1024))
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	return nil
}

// ratios formats x's throughput and CPU divided by the median of a
// floor's runs, "–" when the floor did not run.
func ratios(x cell, floorRuns []report) (tps, cpu string) {
	base, ok := median(floorRuns)
	if !ok || base.tps <= 0 || base.cpu <= 0 {
		return "–", "–"
	}
	return fmt.Sprintf("%.2f", x.tps/base.tps), fmt.Sprintf("%.2f", x.cpu/base.cpu)
}

// median takes the median of every figure separately (max for RSS).
func median(rs []report) (cell, bool) {
	if len(rs) == 0 {
		return cell{}, false
	}
	pick := func(f func(report) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	c := cell{n: len(rs)}
	c.tps = pick(func(r report) float64 { return r.TPS })
	c.p50 = pick(func(r report) float64 { return r.Latency["tx"].P50 })
	c.p99 = pick(func(r report) float64 { return r.Latency["tx"].P99 })
	c.cpu = pick(func(r report) float64 { return r.MilterCPUPer10k })
	c.load = pick(func(r report) float64 {
		if r.Seconds <= 0 {
			return 0
		}
		return 100 * r.OtherCPUSeconds / r.Seconds
	})
	for _, r := range rs {
		c.rss = max(c.rss, r.MilterRSSMaxKiB)
		c.bad += r.Errors + r.Mismatches
	}
	return c, true
}

func sessionsOf(rs []report) int64 {
	var n int64
	for _, r := range rs {
		n = max(n, r.Sessions)
	}
	return n
}

// order sorts names by their position in want; unknown names go last.
func order(names, want []string) {
	pos := func(s string) int {
		if i := slices.Index(want, s); i >= 0 {
			return i
		}
		return len(want)
	}
	slices.SortStableFunc(names, func(a, b string) int { return pos(a) - pos(b) })
}
