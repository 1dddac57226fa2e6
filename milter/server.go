// Package milter is luamilter's side of the milter protocol. It speaks to
// Postfix and Sendmail through github.com/d--j/go-milter, buffers each
// message, and turns a Backend's verdicts and changes into milter replies
// and modifications. It knows the wire and the MTA quirks, nothing of Lua.
package milter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	gomilter "github.com/d--j/go-milter"
)

// Config sets up a Server.
type Config struct {
	Backend Backend
	Log     *slog.Logger
	// Needs is asked at each new milter connection which events to
	// negotiate; nil means every event.
	Needs func() Needs
	// Macros lists the macros to request per stage (gomilter.Stage*).
	Macros map[byte][]string
	// Sessions, when set, is the register the server records its
	// sessions in, so the policy engine can count them by network; the
	// server keeps its own otherwise.
	Sessions *Sessions
	// MaxSessions caps concurrent sessions (0 = no cap). A connection
	// over the cap waits up to SessionWait, then gets BusyVerdict
	// (BusyReply when unset).
	MaxSessions int
	SessionWait time.Duration
	BusyVerdict Verdict
	// SpoolDir, SpoolThreshold and MaxMessageSize control message
	// buffering: in memory up to the threshold, then in a temporary file;
	// a message over MaxMessageSize gets OversizeVerdict (OversizeReply
	// when unset).
	SpoolDir        string
	SpoolThreshold  int64
	MaxMessageSize  int64
	OversizeVerdict Verdict
	// ReadTimeout bounds one packet from its first byte to its last;
	// IdleTimeout bounds the wait for the first byte of the next one.
	// WriteTimeout bounds each write to the MTA.
	ReadTimeout  time.Duration
	IdleTimeout  time.Duration
	WriteTimeout time.Duration
}

// Default timeouts. An MTA on the other end sends a packet's bytes back
// to back, so a packet that takes a minute is not an MTA's. Between
// commands the MTA waits for its SMTP client: Postfix's smtpd_timeout is
// 300s, Sendmail's Timeout.command one hour, so DefaultIdleTimeout is
// just above the longer one; what keeps idle connections from locking
// out the MTA is the eviction in acquire, not this timeout.
const (
	DefaultReadTimeout  = time.Minute
	DefaultIdleTimeout  = 61 * time.Minute
	DefaultWriteTimeout = 30 * time.Second
)

// Server accepts milter connections and runs one Session per connection.
type Server struct {
	cfg   Config
	gm    *gomilter.Server
	slots chan struct{}
	ctx   context.Context
	stop  context.CancelFunc
	// sessions is cfg.Sessions, or the server's own register.
	sessions *Sessions
	total    atomic.Uint64
	wg       sync.WaitGroup

	// directIDs numbers PlayDirect's sessions from 1, as go-milter numbers
	// the connections it serves; a server is played one way or the other.
	directIDs atomic.Uint64

	offers sync.Map // action sets the MTA left out, already logged (see noteOffer)

	connsMu sync.Mutex
	conns   map[*coalescingConn]struct{}
	// evictAfter is evictIdleAfter; tests shorten it.
	evictAfter time.Duration
}

// NewServer returns a Server; call Serve for each listener.
func NewServer(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Needs == nil {
		cfg.Needs = func() Needs { return Needs{All: true} }
	}
	if cfg.SpoolThreshold <= 0 {
		cfg.SpoolThreshold = 1 << 20
	}
	if cfg.SessionWait <= 0 {
		cfg.SessionWait = 2 * time.Second
	}
	if cfg.BusyVerdict.Code == 0 {
		cfg.BusyVerdict = BusyReply()
	}
	if cfg.OversizeVerdict.Code == 0 {
		cfg.OversizeVerdict = OversizeReply()
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	s := &Server{cfg: cfg, sessions: cfg.Sessions, conns: make(map[*coalescingConn]struct{}), evictAfter: evictIdleAfter}
	if s.sessions == nil {
		s.sessions = NewSessions()
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	if cfg.MaxSessions > 0 {
		s.slots = make(chan struct{}, cfg.MaxSessions)
	}
	opts := []gomilter.Option{
		gomilter.WithDynamicMilter(func(uint32, gomilter.OptAction, gomilter.OptProtocol, gomilter.DataSize) gomilter.Milter {
			return newAdapter(s)
		}),
		gomilter.WithNegotiationCallback(negotiator(cfg.Needs)),
		// No go-milter read timeout: it would bound the wait between
		// commands by a packet's timeout. The connection applies
		// ReadTimeout and IdleTimeout itself (coalescingConn), and
		// WriteTimeout to each write.
		gomilter.WithReadTimeout(0),
	}
	for stage, names := range cfg.Macros {
		opts = append(opts, gomilter.WithMacroRequest(stage, names))
	}
	s.gm = gomilter.NewServer(opts...)
	return s
}

// Serve accepts connections on ln until Shutdown or Close. Each
// connection's replies are coalesced into one write per round trip (see
// coalescingListener).
func (s *Server) Serve(ln net.Listener) error {
	err := s.gm.Serve(coalescingListener{Listener: ln, srv: s})
	if errors.Is(err, gomilter.ErrServerClosed) {
		return nil
	}
	return err
}

// OpenSessions is the number of sessions being served now.
func (s *Server) OpenSessions() int64 { return int64(s.sessions.Len()) }

// TotalSessions is the number of sessions started since the server began.
func (s *Server) TotalSessions() uint64 { return s.total.Load() }

// Shutdown stops accepting connections and waits for open sessions until
// ctx ends; sessions still open then are cut, and the MTA applies its
// milter_default_action to them. Cut sessions get shutdownGrace to run
// their close stage; Shutdown returns after that whatever they do.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.gm.Shutdown(ctx)
	s.stop()
	// Connections go-milter does not track yet (still negotiating)
	// and any it missed are closed here.
	s.closeConns()
	if !s.waitSessions(shutdownGrace) {
		err = errors.Join(err, fmt.Errorf("milter: %d sessions still running after shutdown", s.sessions.Len()))
	}
	return err
}

// shutdownGrace is how long cut sessions may take to run their close
// stage: a callout stops at its own deadline or when the server's
// context ends, so this only runs out on a bug.
const shutdownGrace = 5 * time.Second

func (s *Server) waitSessions(d time.Duration) bool {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// Close stops everything at once.
func (s *Server) Close() error {
	err := s.gm.Close()
	s.stop()
	s.closeConns()
	return err
}

// track adds or removes an accepted connection.
func (s *Server) track(c *coalescingConn, add bool) {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}

func (s *Server) closeConns() {
	s.connsMu.Lock()
	conns := make([]*coalescingConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connsMu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// evictIdle closes the connection that has waited longest for its MTA's
// next command, if that is longer than evictAfter, and reports whether
// it closed one. A connection that waits between commands is an SMTP
// client thinking, or a process holding a slot on purpose; when every
// slot is taken, a new session is worth more than either.
func (s *Server) evictIdle(evictAfter time.Duration) bool {
	cutoff := time.Now().Add(-evictAfter).UnixNano()
	var oldest *coalescingConn
	var oldestSince int64
	s.connsMu.Lock()
	for c := range s.conns {
		since := c.waitingSince.Load()
		if since != 0 && since < cutoff && (oldest == nil || since < oldestSince) {
			oldest, oldestSince = c, since
		}
	}
	s.connsMu.Unlock()
	if oldest == nil {
		return false
	}
	s.cfg.Log.Warn("all session slots taken: closing the longest idle milter connection",
		"mta", oldest.mta(), "idle", time.Since(time.Unix(0, oldestSince)).Round(time.Second),
		"max_sessions", s.cfg.MaxSessions)
	oldest.Close()
	return true
}

// acquire takes a session slot, waiting at most SessionWait. When none
// frees up, the longest idle connection (idle over evictIdleAfter) is
// closed and the wait starts once more, so connections that send nothing
// can't lock the MTA out. The connection closed may turn out not to hold
// a slot (one refused earlier and kept open), hence a few tries.
func (s *Server) acquire() bool {
	if s.slots == nil {
		return true
	}
	select { // a free slot needs no timer
	case s.slots <- struct{}{}:
		return true
	default:
	}
	for evictions := 0; ; evictions++ {
		if s.waitSlot() {
			return true
		}
		if evictions == maxEvictions || s.ctx.Err() != nil || !s.evictIdle(s.evictAfter) {
			return false
		}
	}
}

// maxEvictions bounds the idle connections one new session may close.
const maxEvictions = 4

// evictIdleAfter is how long a connection must have waited for its
// MTA's next command before a new session may take its slot. An MTA
// sends the next command as soon as its SMTP client does; clients
// rarely think for more than seconds.
const evictIdleAfter = 30 * time.Second

func (s *Server) waitSlot() bool {
	t := time.NewTimer(s.cfg.SessionWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-s.ctx.Done():
		return false
	}
}

func (s *Server) release() {
	if s.slots != nil {
		<-s.slots
	}
}
