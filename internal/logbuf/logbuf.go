// Package logbuf is a log sink that many goroutines may write while a test
// reads it: the daemon's slog handlers and a subprocess's stderr copier
// write, the test asserts on what was logged.
package logbuf

import (
	"bytes"
	"sync"
)

// Buffer is an in-memory, mutex-guarded io.Writer. The zero value is an
// empty buffer ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
