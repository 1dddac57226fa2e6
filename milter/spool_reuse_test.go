package milter

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func readAll(t *testing.T, s *Spool) string {
	t.Helper()
	rc, err := s.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSpoolParts checks adopted and copied parts in every combination,
// the move to disk and that Reset leaves nothing behind.
func TestSpoolParts(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name      string
		threshold int64
		adopt     []bool
		disk      bool
	}{
		{"copied", 1 << 20, []bool{false, false, false}, false},
		{"adopted", 1 << 20, []bool{true, true, true}, false},
		{"mixed", 1 << 20, []bool{true, false, false, true, false}, false},
		{"adopted to disk", 5, []bool{true, true, true}, true},
		{"mixed to disk", 5, []bool{false, true, false}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewSpool(dir, c.threshold, 0)
			for msg := 0; msg < 2; msg++ { // a reset spool takes the next message
				var want []byte
				for i, adopt := range c.adopt {
					p := []byte{byte('a' + i), byte('0' + msg), '\n'}
					want = append(want, p...)
					if adopt {
						if err := s.Adopt(p); err != nil {
							t.Fatal(err)
						}
					} else if _, err := s.Write(p); err != nil {
						t.Fatal(err)
					}
					p[0] = 'X' // a copied part must not change; adopted ones are not touched by callers
					if adopt {
						p[0] = byte('a' + i)
					}
				}
				if s.OnDisk() != c.disk || s.Size() != int64(len(want)) {
					t.Fatalf("on disk %v size %d, want %v %d", s.OnDisk(), s.Size(), c.disk, len(want))
				}
				if got := readAll(t, s); got != string(want) {
					t.Fatalf("Open reads %q, want %q", got, want)
				}
				if got, err := s.Bytes(); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Bytes = %q %v, want %q", got, err, want)
				}
				if got := readAll(t, s); got != string(want) {
					t.Fatalf("Open after Bytes reads %q, want %q", got, want)
				}
				s.Reset()
				if s.Size() != 0 || readAll(t, s) != "" {
					t.Fatal("reset spool is not empty")
				}
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Fatalf("files left after reset: %v", files)
			}
		})
	}
}

func TestSpoolTooBig(t *testing.T) {
	s := NewSpool(t.TempDir(), 1<<20, 8)
	if err := s.Adopt([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	if err := s.Adopt([]byte("6789")); err != ErrTooBig {
		t.Fatalf("over the maximum: %v, want ErrTooBig", err)
	}
}
