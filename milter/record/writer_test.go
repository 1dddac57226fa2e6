package record

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestWriterBound writes records through Writers of several bounds and
// checks the directory never holds more than the bound, the newest
// record is always kept and the oldest files go first.
func TestWriterBound(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes int64
		records  int
	}{
		{"room for all", 1 << 20, 50},
		{"a few records", 2000, 50},
		{"one record", 400, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() + "/rec"
			w, err := OpenWriter(dir, tc.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.records {
				r := &Record{Format: Format, Time: time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), Last: "eom",
					From: &Addr{Addr: "a@example.org"}, Body: []byte(strings.Repeat("x", 100+i))}
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
				if total := dirSize(t, dir); total > tc.maxBytes {
					t.Fatalf("after %d records: %d bytes, bound %d", i+1, total, tc.maxBytes)
				}
			}
			w.Close()
			recs, bad, err := ReadDir(dir)
			if err != nil || bad != 0 || len(recs) == 0 {
				t.Fatalf("ReadDir: %d records, %d bad, %v", len(recs), bad, err)
			}
			if last := recs[len(recs)-1]; len(last.Body) != 100+tc.records-1 {
				t.Errorf("newest record kept has a %d-byte body", len(last.Body))
			}
			for i := 1; i < len(recs); i++ {
				if len(recs[i].Body) != len(recs[i-1].Body)+1 {
					t.Fatalf("records out of order or with a gap at %d", i)
				}
			}
			if tc.maxBytes == 1<<20 && len(recs) != tc.records {
				t.Errorf("%d records kept, want all %d", len(recs), tc.records)
			}
		})
	}
}

func dirSize(t *testing.T, dir string) int64 {
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
