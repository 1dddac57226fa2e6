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
	f, err := os.CreateTemp(s.dir, "luamilter-*.eml")
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
