package milter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooBig is returned when a message grows past the configured maximum.
var ErrTooBig = errors.New("message exceeds the maximum size")

// Spool holds a message body: in memory up to a threshold, then in a
// temporary file. Close removes the file on every path.
type Spool struct {
	dir       string
	threshold int64
	max       int64
	mem       bytes.Buffer
	file      *os.File
	size      int64
}

// NewSpool returns an empty spool. max <= 0 means no limit.
func NewSpool(dir string, threshold, max int64) *Spool {
	return &Spool{dir: dir, threshold: threshold, max: max}
}

// Write appends body data, moving to a temporary file when the memory
// threshold is crossed.
func (s *Spool) Write(p []byte) (int, error) {
	if s.max > 0 && s.size+int64(len(p)) > s.max {
		return 0, ErrTooBig
	}
	if s.file == nil && int64(s.mem.Len()+len(p)) > s.threshold {
		f, err := os.CreateTemp(s.dir, "luamilter-*.eml")
		if err != nil {
			return 0, fmt.Errorf("spool to disk: %w", err)
		}
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			f.Close()
			os.Remove(f.Name())
			return 0, fmt.Errorf("spool to disk: %w", err)
		}
		s.file = f
		s.mem = bytes.Buffer{}
	}
	var n int
	var err error
	if s.file != nil {
		n, err = s.file.Write(p)
	} else {
		n, err = s.mem.Write(p)
	}
	s.size += int64(n)
	return n, err
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
// callers that can stream should use Open.
func (s *Spool) Bytes() ([]byte, error) {
	if s.file == nil {
		return s.mem.Bytes(), nil
	}
	return os.ReadFile(s.file.Name())
}

// Open returns a reader over the body from the start.
func (s *Spool) Open() (io.ReadCloser, error) {
	if s.file == nil {
		return io.NopCloser(bytes.NewReader(s.mem.Bytes())), nil
	}
	return os.Open(s.file.Name())
}

// keepBuffer is the largest memory buffer Reset keeps for the next
// message, so that a connection carrying many small messages does not
// allocate and grow a buffer for each, while an idle connection does not
// pin a large one.
const keepBuffer = 64 << 10

// Reserve makes room for n body bytes in memory when they will stay
// below the threshold, so the buffer is allocated once at the final size
// instead of growing by doubling. n comes from the MTA (MAIL FROM's
// SIZE=), so it is a hint, not a limit.
func (s *Spool) Reserve(n int64) {
	if s.file != nil || n <= 0 || n > s.threshold || (s.max > 0 && n > s.max) {
		return
	}
	s.mem.Grow(int(n) - s.mem.Len())
}

// Reset discards the body and removes any temporary file, keeping a
// small memory buffer for the next message.
func (s *Spool) Reset() error {
	if s.file == nil && s.mem.Cap() <= keepBuffer {
		s.mem.Reset()
		s.size = 0
		return nil
	}
	return s.Close()
}

// Close discards the body and removes any temporary file.
func (s *Spool) Close() error {
	s.mem = bytes.Buffer{}
	s.size = 0
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	s.file.Close()
	s.file = nil
	return os.Remove(name)
}
