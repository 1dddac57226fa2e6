package milter

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	gomilter "github.com/d--j/go-milter"
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
// sent back to back are read in one read(2). Every packet passes the
// packet guard (guard.go) before go-milter sees a byte of it.
type coalescingListener struct {
	net.Listener
	srv *Server
}

// Accept wraps the accepted connection. TCP_NODELAY stays as Go sets it
// (on), so the single write goes out at once.
func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := newCoalescingConn(c, l.srv.cfg)
	cc.srv = l.srv
	l.srv.track(cc, true)
	return cc, nil
}

// coalescingConn buffers both directions of one milter connection and
// guards what it reads.
//
// Deadlines: go-milter's own read deadline is only its hard-coded
// second for negotiation; the connection's timeouts are the guard's. A
// deadline reaches the socket only right before a read that really
// waits (each SetReadDeadline is a timer update in the runtime poller):
// while waiting for a packet's first byte it is IdleTimeout from when the
// wait began, within a packet ReadTimeout. Writes reach the socket only
// in flush (or when a payload exceeds the buffer), and each such write
// gets its own deadline of WriteTimeout, so a stuck MTA still times out.
type coalescingConn struct {
	net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	cfg Config
	srv *Server // nil in tests that use the connection alone

	guard  packetGuard
	pkt    []byte  // the current packet, length prefix included
	off    int     // bytes of pkt already read by go-milter
	small  []byte  // the connection's own buffer, up to keepPacketBuffer
	pooled *[]byte // the pool buffer pkt lives in, nil for small
	// prefix receives a packet's length: a local array passed to
	// io.ReadFull would escape, one allocation per packet.
	prefix [4]byte

	// waitingSince is when the connection began waiting for the MTA's
	// next packet (UnixNano), 0 while a packet is being read or served.
	// The server reads it to find idle connections under pressure.
	waitingSince atomic.Int64
	inPacket     bool      // a packet's first byte has arrived
	waitStart    time.Time // when the current wait for the socket began

	callerDeadline  time.Time // go-milter's (negotiation only)
	appliedDeadline time.Time // set on the socket

	// mu serialises buffer use between the session goroutine and a
	// Close from the server's shutdown.
	mu     sync.Mutex
	closed atomic.Bool
}

func newCoalescingConn(c net.Conn, cfg Config) *coalescingConn {
	cc := &coalescingConn{Conn: c, cfg: cfg}
	cc.r = bufio.NewReaderSize(readerFunc(cc.socketRead), connReadBuffer)
	cc.w = bufio.NewWriterSize(writerFunc(cc.socketWrite), connWriteBuffer)
	return cc
}

// Read sends buffered replies first: the server reads only when it has
// answered everything, so this is the moment the MTA waits for them.
// Then it hands out the current packet, reading and checking the next one
// when go-milter has taken all of it.
func (c *coalescingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			return 0, err
		}
	}
	if c.off == len(c.pkt) {
		if err := c.nextPacket(); err != nil {
			c.logReadError(err)
			return 0, err
		}
	}
	n := copy(p, c.pkt[c.off:])
	c.off += n
	return n, nil
}

// keepPacketBuffer is the largest packet buffer a connection keeps for
// itself; a larger packet (a body chunk or a big header) is read into a
// buffer from packetPools, which goes back to its pool when the next
// packet starts, so an idle connection does not hold it.
const keepPacketBuffer = 16 << 10

// packetPools hold the buffers of packets larger than keepPacketBuffer,
// by size. The sizes double up to the largest packet the guard admits,
// and include the exact size of a full body chunk for each data size an
// MTA may negotiate: a body arrives as a train of full chunks, each of
// which then reuses a buffer instead of growing a new one. Without them
// every chunk of a 10 MB body cost about twice its size in buffers.
var packetPools = func() []packetPool {
	sizes := []int{32 << 10, 4 + 1 + int(gomilter.DataSize64K), 128 << 10, 4 + 1 + int(gomilter.DataSize256K),
		512 << 10, 4 + maxCommandSize}
	pools := make([]packetPool, len(sizes))
	for i, n := range sizes {
		pools[i].size = n
		pools[i].New = func() any {
			b := make([]byte, n)
			return &b
		}
	}
	return pools
}()

// packetPool is a pool of packet buffers of one size.
type packetPool struct {
	sync.Pool
	size int
}

// growPacket makes room in c.pkt for at least want bytes in all. Up to
// keepPacketBuffer the connection's own buffer grows; beyond, the packet
// moves to the smallest pool buffer that holds want, and the buffer it
// leaves goes back to its pool.
func (c *coalescingConn) growPacket(want int) {
	if want <= keepPacketBuffer {
		b := make([]byte, len(c.pkt), want)
		copy(b, c.pkt)
		c.pkt, c.small = b, b[:0]
		return
	}
	for i := range packetPools {
		p := &packetPools[i]
		if p.size < want {
			continue
		}
		b := p.Get().(*[]byte)
		n := copy(*b, c.pkt)
		c.releasePacket()
		c.pkt, c.pooled = (*b)[:n], b
		return
	}
	// The guard refuses longer packets; growing is only a fallback.
	c.pkt = slices.Grow(c.pkt, want-len(c.pkt))
}

// releasePacket gives a pool buffer back and makes the connection's own
// buffer current. go-milter copies every packet out of the buffer, so
// nothing refers to it any more.
func (c *coalescingConn) releasePacket() {
	if c.pooled == nil {
		return
	}
	for i := range packetPools {
		if p := &packetPools[i]; p.size == cap(*c.pooled) {
			p.Put(c.pooled)
			break
		}
	}
	c.pkt, c.pooled = c.small, nil
}

// nextPacket reads one whole packet into c.pkt and checks it. The length
// prefix is checked before the payload is read, and the payload's buffer
// grows as its bytes arrive.
func (c *coalescingConn) nextPacket() error {
	c.releasePacket()
	c.pkt, c.off = c.pkt[:0], 0
	c.inPacket, c.waitStart = false, time.Time{}
	c.waitingSince.Store(time.Now().UnixNano())
	prefix := c.prefix[:]
	_, err := io.ReadFull(c.r, prefix[:1])
	c.waitingSince.Store(0)
	if err != nil {
		return err
	}
	c.inPacket, c.waitStart = true, time.Time{}
	if _, err := io.ReadFull(c.r, prefix[1:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(prefix)
	if err := c.guard.checkLength(n); err != nil {
		return err
	}
	c.pkt = append(c.pkt, prefix...)
	end := len(c.pkt) + int(n)
	for len(c.pkt) < end {
		if len(c.pkt) == cap(c.pkt) {
			// Room for at most as much again as has arrived: what a
			// stalled connection can make us hold is bounded by what
			// it sent, not by what it claimed. A pool buffer may be
			// up to twice that.
			c.growPacket(len(c.pkt) + min(end-len(c.pkt), max(len(c.pkt), minPacketGrowth)))
		}
		k, err := c.r.Read(c.pkt[len(c.pkt):min(cap(c.pkt), end)])
		c.pkt = c.pkt[:len(c.pkt)+k]
		if err != nil {
			return err
		}
	}
	return c.guard.check(c.pkt[4:])
}

// minPacketGrowth is the least a packet buffer grows by: a usual
// command fits at once.
const minPacketGrowth = 4 << 10

// logReadError reports why a connection stops reading: a refused packet
// or a timeout. A closed connection needs no line.
func (c *coalescingConn) logReadError(err error) {
	if c.srv == nil {
		return
	}
	log := c.srv.cfg.Log
	var perr *ProtocolError
	var nerr net.Error
	switch {
	case errors.As(err, &perr):
		log.Warn("milter connection closed: packet refused", "mta", c.mta(), "reason", perr.Error())
	case errors.As(err, &nerr) && nerr.Timeout() && !c.closed.Load():
		if c.inPacket {
			log.Warn("milter connection closed: a packet did not arrive in time", "mta", c.mta(), "read_timeout", c.cfg.ReadTimeout)
		} else {
			log.Info("milter connection closed: idle too long", "mta", c.mta(), "idle_timeout", c.cfg.IdleTimeout)
		}
	}
}

// mta names the MTA's end of the connection for logs; on a unix socket,
// where the peer has no address, the socket's path.
func (c *coalescingConn) mta() string {
	if a := c.RemoteAddr(); a != nil && a.Network() != "unix" {
		return a.String()
	}
	return "unix:" + c.LocalAddr().String()
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
	c.callerDeadline = t
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
	if c.closed.Swap(true) {
		return nil
	}
	if c.srv != nil {
		c.srv.track(c, false)
	}
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
	if c.waitStart.IsZero() {
		c.waitStart = time.Now()
	}
	limit := c.cfg.IdleTimeout
	if c.inPacket {
		limit = c.cfg.ReadTimeout
	}
	deadline := time.Time{}
	if limit > 0 {
		deadline = c.waitStart.Add(limit)
	}
	if !c.callerDeadline.IsZero() && (deadline.IsZero() || c.callerDeadline.Before(deadline)) {
		deadline = c.callerDeadline
	}
	if !deadline.Equal(c.appliedDeadline) {
		if err := c.Conn.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
		c.appliedDeadline = deadline
	}
	return c.Conn.Read(p)
}

// socketWrite is the write buffer's sink; it runs with mu held.
func (c *coalescingConn) socketWrite(p []byte) (int, error) {
	if c.cfg.WriteTimeout > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
