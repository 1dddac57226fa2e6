package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRatiosAgainstFloors summarises made-up runs and checks which floor
// each milter's ratios are taken against.
func TestRatiosAgainstFloors(t *testing.T) {
	dir := t.TempDir()
	runs := []struct {
		milter, combo string
		tps, cpu      float64
	}{
		{"go", "c8-256k", 1000, 10},
		{"go-lean", "c8-256k", 2000, 5},
		{"lua", "c8-256k", 1500, 10},
		{"go-content", "c8-256k", 1000, 8},
		{"lua-content", "c8-256k", 500, 16},
	}
	for _, r := range runs {
		b, err := json.Marshal(map[string]any{"label": r.milter + " " + r.combo + " 1", "tps": r.tps, "milter_cpu_s_per_10k": r.cpu})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s.%s.r1.json", r.milter, r.combo)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	if err := summarize(&out, dir); err != nil {
		t.Fatal(err)
	}
	want := []struct{ milter, ratios string }{
		{"go", "| – | – | – | – |"},
		{"go-lean", "| 2.00 | 0.50 | – | – |"},
		{"lua", "| 1.50 | 1.00 | 0.75 | 2.00 |"},
		{"go-content", "| – | – | – | – |"},
		{"lua-content", "| – | – | 0.50 | 2.00 |"},
	}
	for _, w := range want {
		found := false
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(line, "| c8-256k | "+w.milter+" |") {
				found = true
				if !strings.Contains(line, w.ratios) {
					t.Errorf("%s: %s\nwant ratios %s", w.milter, line, w.ratios)
				}
			}
		}
		if !found {
			t.Errorf("no row for %s in\n%s", w.milter, out.String())
		}
	}
}
