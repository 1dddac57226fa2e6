//go:build unix

package msysfuncs

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileRefusesSpecialFiles checks that msys.readfile refuses
// FIFOs, sockets and devices inside an allowed directory, directly or
// through a symlink, instead of blocking on them.
func TestReadFileRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, filepath.Join(dir, "to-fifo")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	names := []string{"fifo", "to-fifo", "sock"}
	// Making a device node needs privileges; /dev/null's numbers are 1, 3.
	if err := syscall.Mknod(filepath.Join(dir, "null"), syscall.S_IFCHR|0o644, 1<<8|3); err == nil {
		names = append(names, "null")
	} else {
		t.Logf("no device node (%v); devices not covered", err)
	}
	l := newReader(Options{ReadDirs: []string{dir}})
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			done := make(chan error, 1)
			go func() {
				_, err := l.ReadFile(path)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Fatalf("ReadFile(%s) error %v, want \"not a regular file\"", name, err)
				}
			case <-time.After(10 * time.Second):
				// Open the FIFO's other end so the blocked reader returns.
				if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
				<-done
				t.Fatalf("ReadFile(%s) blocked", name)
			}
		})
	}
	t.Run("through Lua", func(t *testing.T) {
		L := newState(t, Options{ReadDirs: []string{dir}})
		if err := L.DoString(`local s, err = msys.readfile("` + filepath.Join(dir, "sock") + `")
assert(s == nil and err:find("not a regular file", 1, true), err)`); err != nil {
			t.Fatal(err)
		}
	})
}
