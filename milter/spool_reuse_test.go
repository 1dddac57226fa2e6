package milter

import (
	"bytes"
	"os"
	"testing"
)

func TestSizeParam(t *testing.T) {
	for args, want := range map[string]int64{
		"":                          0,
		"SIZE=5000":                 5000,
		"BODY=8BITMIME size=1234":   1234,
		"SIZE=":                     0,
		"SIZE=-5":                   0,
		"SIZE=12x":                  0,
		"SMTPUTF8 SIZE=77 RET=HDRS": 77,
		"XSIZE=99":                  0,
	} {
		if got := sizeParam(args); got != want {
			t.Errorf("sizeParam(%q) = %d, want %d", args, got, want)
		}
	}
}

// TestSpoolResetReuse checks that a reset spool starts empty, keeps a
// small buffer, drops a large one and removes its file.
func TestSpoolResetReuse(t *testing.T) {
	dir := t.TempDir()
	s := NewSpool(dir, 1<<20, 0)
	s.Reserve(10 << 10)
	if _, err := s.Write([]byte("first message body")); err != nil {
		t.Fatal(err)
	}
	s.Reset()
	if s.Size() != 0 || s.mem.Cap() < 10<<10 {
		t.Fatalf("after reset: size %d, buffer %d; want empty with the buffer kept", s.Size(), s.mem.Cap())
	}
	if _, err := s.Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Bytes(); string(b) != "second" {
		t.Fatalf("second message reads %q", b)
	}
	s.Reserve(512 << 10)
	s.Reset()
	if s.mem.Cap() != 0 {
		t.Fatalf("a %d byte buffer was kept", s.mem.Cap())
	}
	small := NewSpool(dir, 1024, 0)
	small.Reserve(1 << 20) // over the threshold: no memory reserved
	if small.mem.Cap() != 0 {
		t.Fatalf("reserved %d bytes beyond the threshold", small.mem.Cap())
	}
	if _, err := small.Write(bytes.Repeat([]byte("x"), 4096)); err != nil || !small.OnDisk() {
		t.Fatalf("write: %v, on disk %v", err, small.OnDisk())
	}
	small.Reset()
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("files left after reset: %v", files)
	}
}
