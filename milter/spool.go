package milter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

// ErrTooBig is returned when a message grows past the configured maximum.
var ErrTooBig = errors.New("message exceeds the maximum size")

// Spool files are named SpoolFilePrefix, random digits, SpoolFileSuffix,
// so that SweepSpoolDir can tell them from anything else in the
// directory.
const (
	SpoolFilePrefix = "luamilter-spool-"
	SpoolFileSuffix = ".eml"
	// legacySpoolPrefix named the files of earlier versions.
	legacySpoolPrefix = "luamilter-"
)

// Spool holds a message body: in memory up to a threshold, then in a
// temporary file. Close removes the file on every path. The file is
// flock'ed while the spool holds it, which is how SweepSpoolDir tells a
// live body from one a crashed process left behind.
//
// In memory the body is a list of parts. Write copies into a part the
// spool owns; Adopt keeps the caller's slice as a part without copying,
// which is how body chunks arrive: each SMFIC_BODY packet is read into a
// buffer of its own, so a 256 KB body costs no copy and no second buffer.
type Spool struct {
	dir       string
	threshold int64
	max       int64
	parts     [][]byte
	tail      bool // the last part is the spool's own and may grow
	file      *os.File
	size      int64
}

// NewSpool returns an empty spool. max <= 0 means no limit.
func NewSpool(dir string, threshold, max int64) *Spool {
	return &Spool{dir: dir, threshold: threshold, max: max}
}

// Write appends a copy of p, moving to a temporary file when the memory
// threshold is crossed.
func (s *Spool) Write(p []byte) (int, error) {
	return s.add(p, true)
}

// WriteString is Write for a string, without first converting it to a
// byte slice, which for a large replaced body would be a copy of its
// whole size. The slice shares the string's bytes; that is safe because
// Write neither keeps nor changes what it is given: it copies it into a
// part of its own or writes it to the file.
func (s *Spool) WriteString(str string) (int, error) {
	return s.add(unsafe.Slice(unsafe.StringData(str), len(str)), true)
}

// Adopt appends p without copying it: the spool keeps p until Reset or
// Close, and the caller must not change it after the call.
func (s *Spool) Adopt(p []byte) error {
	_, err := s.add(p, false)
	return err
}

func (s *Spool) add(p []byte, copyIt bool) (int, error) {
	if s.max > 0 && s.size+int64(len(p)) > s.max {
		return 0, ErrTooBig
	}
	if s.file == nil && s.size+int64(len(p)) > s.threshold {
		if err := s.toDisk(); err != nil {
			return 0, err
		}
	}
	if s.file != nil {
		n, err := s.file.Write(p)
		s.size += int64(n)
		return n, err
	}
	switch {
	case len(p) == 0:
	case !copyIt:
		s.parts = append(s.parts, p)
		s.tail = false
	case s.tail:
		s.parts[len(s.parts)-1] = append(s.parts[len(s.parts)-1], p...)
	default:
		s.parts = append(s.parts, append(make([]byte, 0, max(len(p), 4096)), p...))
		s.tail = true
	}
	s.size += int64(len(p))
	return len(p), nil
}

// toDisk moves what is in memory to a new temporary file.
func (s *Spool) toDisk() error {
	f, err := createSpoolFile(s.dir)
	if err != nil {
		return fmt.Errorf("spool to disk: %w", err)
	}
	for _, p := range s.parts {
		if _, err := f.Write(p); err != nil {
			f.Close()
			os.Remove(f.Name())
			return fmt.Errorf("spool to disk: %w", err)
		}
	}
	s.file = f
	s.parts, s.tail = nil, false
	return nil
}

// createSpoolFile creates a spool file in dir and locks it for as long as
// it stays open. A sweep that runs at the same moment (another luamilter
// starting on the same directory) may lock and remove the file between
// its creation and our lock; the file then has no name any more, and we
// make another.
func createSpoolFile(dir string) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		f, err := os.CreateTemp(dir, SpoolFilePrefix+"*"+SpoolFileSuffix)
		if err != nil {
			return nil, err
		}
		spoolCreatedHook(f)
		locked, err := lockFile(f)
		if err == nil && locked {
			var fi os.FileInfo
			if fi, err = f.Stat(); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Nlink > 0 {
					return f, nil
				}
			}
		}
		f.Close()
		if err != nil {
			os.Remove(f.Name())
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if attempt == 10 {
			return nil, fmt.Errorf("lock %s: a sweep keeps removing new spool files", dir)
		}
	}
}

// spoolCreatedHook lets tests sweep a spool file between its creation
// and its lock.
var spoolCreatedHook = func(*os.File) {}

// lockFile takes f's exclusive flock without waiting; false means another
// open file holds it. flock, not fcntl: a POSIX lock would be dropped
// when any descriptor of the file is closed, and Open reopens the file.
func lockFile(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		for {
			lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if lerr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	if lerr == syscall.EWOULDBLOCK {
		return false, nil
	}
	return lerr == nil, lerr
}

// IsSpoolFileName reports whether name is one a Spool gives its files
// (or an earlier version gave them): the prefix, digits only, the
// suffix. The test is strict because SweepSpoolDir deletes what passes.
func IsSpoolFileName(name string) bool {
	for _, prefix := range []string{SpoolFilePrefix, legacySpoolPrefix} {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		digits, ok := strings.CutSuffix(rest, SpoolFileSuffix)
		if ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
			return true
		}
	}
	return false
}

// SweepSpoolDir removes the spool files left in dir by luamilter
// processes that are gone: regular files named as IsSpoolFileName says,
// owned by this process's user and not locked by a live Spool (of this
// or another process). It returns how many it removed; a file it could
// not examine or remove is reported in the error, and the sweep goes on
// with the others.
func SweepSpoolDir(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("sweep spool directory: %w", err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsSpoolFileName(e.Name()) {
			continue
		}
		ok, err := sweepSpoolFile(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed++
		}
	}
	return removed, errors.Join(errs...)
}

// sweepSpoolFile removes path if it is ours and no Spool holds it.
func sweepSpoolFile(path string) (bool, error) {
	// O_NOFOLLOW: the name was a regular file when listed; if it has
	// become a symlink since, leave it alone.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil // its Spool closed it meanwhile
		}
		return false, fmt.Errorf("sweep %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("sweep %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || !ok || int(st.Uid) != os.Geteuid() {
		return false, nil
	}
	locked, err := lockFile(f)
	if err != nil {
		return false, fmt.Errorf("sweep %s: %w", path, err)
	}
	if !locked {
		return false, nil // a live Spool's body
	}
	// Removed while we hold the lock, so a Spool that created this
	// file and locks it after us sees it unlinked and makes another.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("sweep %s: %w", path, err)
	}
	return true, nil
}

// Sibling returns a new empty spool with the same directory and memory
// threshold and no size limit, for a replacement body built from this one.
func (s *Spool) Sibling() *Spool {
	return &Spool{dir: s.dir, threshold: s.threshold}
}

// Size is the number of body bytes received.
func (s *Spool) Size() int64 { return s.size }

// OnDisk reports whether the body went to a temporary file.
func (s *Spool) OnDisk() bool { return s.file != nil }

// Bytes returns the whole body. For a spooled body it reads the file, so
// callers that can stream should use Open. A body held in several parts
// is joined once.
func (s *Spool) Bytes() ([]byte, error) {
	if s.file != nil {
		return os.ReadFile(s.file.Name())
	}
	switch len(s.parts) {
	case 0:
		return nil, nil
	case 1:
		return s.parts[0], nil
	}
	joined := bytes.Join(s.parts, nil)
	s.parts, s.tail = [][]byte{joined}, true
	return joined, nil
}

// ErrInMemory is returned by Map for a body that is not on disk.
var ErrInMemory = errors.New("spool: the body is in memory, not in a file")

// Map maps a body on disk read-only into memory, so that it can be
// searched without reading it into the heap, and returns the function
// that unmaps it. The bytes must not be used after unmap; the pages are
// the spool file's page cache, not a copy. The file is the spool's own
// and locked, so nothing truncates it while it is mapped (a truncated
// mapping faults); closing the spool, which removes the file, leaves a
// mapping readable until unmap. Writes only append past the mapped length, so a
// mapping taken before them still reads as it did.
func (s *Spool) Map() ([]byte, func() error, error) {
	if s.file == nil {
		return nil, nil, ErrInMemory
	}
	if s.size == 0 {
		return nil, func() error { return nil }, nil
	}
	b, err := syscall.Mmap(int(s.file.Fd()), 0, int(s.size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("map spool file: %w", err)
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}

// Open returns a reader over the body from the start.
func (s *Spool) Open() (io.ReadCloser, error) {
	if s.file != nil {
		return os.Open(s.file.Name())
	}
	if len(s.parts) <= 1 {
		b, _ := s.Bytes()
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	readers := make([]io.Reader, len(s.parts))
	for i, p := range s.parts {
		readers[i] = bytes.NewReader(p)
	}
	return io.NopCloser(io.MultiReader(readers...)), nil
}

// Reset discards the body and removes any temporary file, so the spool
// can take the connection's next message.
func (s *Spool) Reset() error {
	clear(s.parts) // drop the references, keep the list
	s.parts = s.parts[:0]
	return s.discard()
}

// Close discards the body and removes any temporary file.
func (s *Spool) Close() error {
	s.parts = nil
	return s.discard()
}

func (s *Spool) discard() error {
	s.tail = false
	s.size = 0
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	s.file.Close()
	s.file = nil
	return os.Remove(name)
}
