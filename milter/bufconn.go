package milter

import (
	"bufio"
	"net"
	"sync"
	"time"
)

// Buffer sizes of a coalescing connection. A 4 KB message with its header
// fields and end-of-message command, which an MTA that does not wait for
// per-header replies sends in one burst, fits in one read; larger body
// chunks bypass the read buffer. Replies are small; a replacement body
// larger than the write buffer goes straight to the socket.
const (
	connReadBuffer  = 8 << 10
	connWriteBuffer = 4 << 10
)

// coalescingListener hands out coalescing connections.
//
// go-milter writes every packet with two write(2) calls (length and code,
// then the payload) and reads every packet with two read(2) calls. At end
// of message that is up to two writes per modification plus two for the
// final reply, each of which the MTA's kernel must handle on its own; a
// packet split like that is also what lets Nagle's algorithm stall a
// reply when TCP_NODELAY is off. The wrapper keeps the protocol unchanged
// and only changes when bytes move: replies are buffered and sent in one
// write(2) when the server next waits for a command, and commands the MTA
// sent back to back are read in one read(2).
type coalescingListener struct {
	net.Listener
	writeTimeout time.Duration
}

// Accept wraps the accepted connection. TCP_NODELAY stays as Go sets it
// (on), so the single write goes out at once.
func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newCoalescingConn(c, l.writeTimeout), nil
}

// coalescingConn buffers both directions of one milter connection.
//
// Deadlines: go-milter sets a read deadline before and clears it after
// every packet, and the same for writes. Both would reach the runtime
// poller (a timer update each) even when the bytes are already buffered.
// The read deadline is therefore only remembered and applied to the socket
// right before a read that really waits; writes reach the socket only in
// flush (or when a payload exceeds the buffer), and each such write gets
// its own deadline of writeTimeout, so a stuck MTA still times out.
type coalescingConn struct {
	net.Conn
	r            *bufio.Reader
	w            *bufio.Writer
	writeTimeout time.Duration

	readDeadline    time.Time // wanted by the caller
	appliedDeadline time.Time // set on the socket

	// mu serialises buffer use between the session goroutine and a
	// Close from the server's shutdown.
	mu sync.Mutex
}

func newCoalescingConn(c net.Conn, writeTimeout time.Duration) *coalescingConn {
	cc := &coalescingConn{Conn: c, writeTimeout: writeTimeout}
	cc.r = bufio.NewReaderSize(readerFunc(cc.socketRead), connReadBuffer)
	cc.w = bufio.NewWriterSize(writerFunc(cc.socketWrite), connWriteBuffer)
	return cc
}

// Read sends buffered replies first: the server reads only when it has
// answered everything, so this is the moment the MTA waits for them.
func (c *coalescingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			return 0, err
		}
	}
	return c.r.Read(p)
}

// Write buffers p until the next Read or Close.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.Write(p)
}

// SetReadDeadline records t; socketRead applies it when it has to wait.
func (c *coalescingConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline is ignored: socketWrite sets its own deadline.
func (c *coalescingConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read deadline (see SetWriteDeadline).
func (c *coalescingConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// Close sends what is still buffered (a reply written just before the
// server ends the session) and closes the socket. A Close from another
// goroutine while the session is busy only closes the socket, which
// makes the session's pending I/O fail.
func (c *coalescingConn) Close() error {
	if c.mu.TryLock() {
		if c.w.Buffered() > 0 {
			_ = c.w.Flush()
		}
		c.mu.Unlock()
	}
	return c.Conn.Close()
}

// socketRead is the read buffer's source; it runs with mu held.
func (c *coalescingConn) socketRead(p []byte) (int, error) {
	if !c.readDeadline.Equal(c.appliedDeadline) {
		if err := c.Conn.SetReadDeadline(c.readDeadline); err != nil {
			return 0, err
		}
		c.appliedDeadline = c.readDeadline
	}
	return c.Conn.Read(p)
}

// socketWrite is the write buffer's sink; it runs with mu held.
func (c *coalescingConn) socketWrite(p []byte) (int, error) {
	if c.writeTimeout > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
