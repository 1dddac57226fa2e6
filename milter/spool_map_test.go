package milter

import (
	"errors"
	"strings"
	"testing"
)

// TestSpoolWriteStringAndMap writes strings into spools that stay in
// memory, cross the threshold or start on disk, and maps those on disk:
// the mapping shows the body, and later writes do not change it.
func TestSpoolWriteStringAndMap(t *testing.T) {
	cases := []struct {
		name      string
		threshold int64
		writes    []string
		onDisk    bool
	}{
		{"in memory", 1 << 10, []string{"abc", "def"}, false},
		{"crosses the threshold", 8, []string{"abcdef", "ghijkl"}, true},
		{"on disk from the first write", 0, []string{strings.Repeat("x", 5000), "tail"}, true},
		{"nothing written", 0, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSpool(t.TempDir(), tc.threshold, 0)
			defer s.Close()
			for _, w := range tc.writes {
				if n, err := s.WriteString(w); err != nil || n != len(w) {
					t.Fatalf("WriteString: %d, %v", n, err)
				}
			}
			want := strings.Join(tc.writes, "")
			if got := readAll(t, s); got != want || s.OnDisk() != tc.onDisk {
				t.Fatalf("body %q on disk %v, want %q on disk %v", got, s.OnDisk(), want, tc.onDisk)
			}
			b, unmap, err := s.Map()
			if !tc.onDisk {
				if !errors.Is(err, ErrInMemory) {
					t.Fatalf("Map of a body in memory: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer unmap()
			if string(b) != want {
				t.Fatalf("mapped %q, want %q", b, want)
			}
			if _, err := s.WriteString("more"); err != nil {
				t.Fatal(err)
			}
			if string(b) != want {
				t.Fatalf("a write changed the mapping: %q", b)
			}
		})
	}
}
