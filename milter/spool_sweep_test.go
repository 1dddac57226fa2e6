package milter

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestSpoolFileName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"luamilter-spool-123456.eml", true},
		{"luamilter-42.eml", true}, // earlier versions' name
		{"luamilter-spool-.eml", false},
		{"luamilter-spool-12a.eml", false},
		{"luamilter-spool-123.eml.bak", false},
		{"luamilter-spool-123", false},
		{"luamilter-test-123.eml", false},
		{"luamilter.toml", false},
		{"x-luamilter-spool-1.eml", false},
		{"message.eml", false},
	}
	for _, tt := range tests {
		if got := IsSpoolFileName(tt.name); got != tt.want {
			t.Errorf("IsSpoolFileName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSpoolFilesCarryTheSweepName checks that a spooled body's file has
// the name SweepSpoolDir looks for.
func TestSpoolFilesCarryTheSweepName(t *testing.T) {
	dir := t.TempDir()
	s := NewSpool(dir, 4, 0)
	defer s.Close()
	if _, err := s.Write([]byte("more than four bytes")); err != nil {
		t.Fatal(err)
	}
	if !s.OnDisk() {
		t.Fatal("body not spooled to disk")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !IsSpoolFileName(entries[0].Name()) {
		t.Fatalf("spool directory holds %v, want one spool file", entries)
	}
}

// TestSpoolSweepDir fills a directory with files a crashed luamilter
// would leave, a live spool's file and things that only look like spool
// files, and checks that the sweep removes exactly the first.
func TestSpoolSweepDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("body"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stale := []string{"luamilter-spool-1.eml", "luamilter-spool-987654321.eml", "luamilter-77.eml"}
	for _, name := range stale {
		write(name)
	}
	others := []string{"luamilter.toml", "luamilter-spool-1.eml.bak", "luamilter-spool-x.eml", "notes.eml"}
	for _, name := range others {
		write(name)
	}
	if err := os.Mkdir(filepath.Join(dir, "luamilter-spool-2.eml"), 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "notes.eml")
	if err := os.Symlink(target, filepath.Join(dir, "luamilter-spool-3.eml")); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Only root can make a file another user owns; as root the
		// sweep must leave that user's files alone.
		write("luamilter-spool-4.eml")
		if err := os.Chown(filepath.Join(dir, "luamilter-spool-4.eml"), 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}

	live := NewSpool(dir, 0, 0)
	defer live.Close()
	if _, err := live.Write([]byte("a body being received")); err != nil {
		t.Fatal(err)
	}
	if !live.OnDisk() {
		t.Fatal("live body not on disk")
	}
	liveName := filepath.Base(live.file.Name())

	n, err := SweepSpoolDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(stale) {
		t.Errorf("removed %d files, want %d", n, len(stale))
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := append([]string{liveName, "luamilter-spool-2.eml", "luamilter-spool-3.eml"}, others...)
	if os.Geteuid() == 0 {
		want = append(want, "luamilter-spool-4.eml")
	}
	sort.Strings(want)
	if strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("left after the sweep:\n %v\nwant\n %v", left, want)
	}
	if b, err := live.Bytes(); err != nil || string(b) != "a body being received" {
		t.Errorf("live spool after the sweep: %q, %v", b, err)
	}
	if err := live.Close(); err != nil {
		t.Errorf("closing the live spool: %v", err)
	}

	// Once closed, nothing of the live spool is left for a sweep.
	if n, err := SweepSpoolDir(dir); n != 0 || err != nil {
		t.Errorf("second sweep removed %d, %v", n, err)
	}
}

// TestSpoolSurvivesSweepBeforeLock plays the race the lock guards
// against: a sweep (of another luamilter starting on the same
// directory) that removes a new spool file before its Spool has locked
// it. The Spool must notice and use a file that still has a name.
func TestSpoolSurvivesSweepBeforeLock(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keepLock bool // the sweep still holds the lock when the Spool tries
	}{
		{"sweep done", false},
		{"sweep still removing", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var swept []string
			spoolCreatedHook = func(f *os.File) {
				if len(swept) > 0 || filepath.Dir(f.Name()) != dir {
					return
				}
				g := mustOpen(t, f.Name())
				if ok, err := lockFile(g); !ok || err != nil {
					t.Fatalf("sweep lock: %v %v", ok, err)
				}
				if err := os.Remove(f.Name()); err != nil {
					t.Fatal(err)
				}
				swept = append(swept, f.Name())
				if !tc.keepLock {
					g.Close()
				}
			}
			defer func() { spoolCreatedHook = func(*os.File) {} }()

			s := NewSpool(dir, 0, 0)
			defer s.Close()
			if _, err := s.Write([]byte("body")); err != nil {
				t.Fatal(err)
			}
			if len(swept) != 1 {
				t.Fatal("the hook did not sweep the first file")
			}
			if s.file.Name() == swept[0] {
				t.Fatal("the Spool kept the file the sweep removed")
			}
			if b, err := s.Bytes(); err != nil || string(b) != "body" {
				t.Fatalf("body %q, %v", b, err)
			}
			if ok, _ := lockFile(mustOpen(t, s.file.Name())); ok {
				t.Error("the Spool's file is not locked")
			}
		})
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
