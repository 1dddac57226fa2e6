// Package milter is luamilter's side of the milter protocol. It speaks to
// Postfix and Sendmail through github.com/d--j/go-milter, buffers each
// message, and turns a Backend's verdicts and changes into milter replies
// and modifications. It knows the wire and the MTA quirks, nothing of Lua.
package milter

import (
	"context"
	"errors"
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
	// MaxSessions caps concurrent sessions (0 = no cap). A connection
	// over the cap waits up to SessionWait, then gets BusyVerdict.
	MaxSessions int
	SessionWait time.Duration
	BusyVerdict Verdict
	// SpoolDir, SpoolThreshold and MaxMessageSize control message
	// buffering: in memory up to the threshold, then in a temporary file;
	// a message over MaxMessageSize gets OversizeVerdict.
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
	open  atomic.Int64
	total atomic.Uint64
	wg    sync.WaitGroup
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
		cfg.BusyVerdict = Reply(421, "4.3.2 Too many concurrent sessions, try again later")
	}
	if cfg.OversizeVerdict.Code == 0 {
		cfg.OversizeVerdict = Reply(552, "5.3.4 Message size exceeds fixed limit")
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
	s := &Server{cfg: cfg}
	s.ctx, s.stop = context.WithCancel(context.Background())
	if cfg.MaxSessions > 0 {
		s.slots = make(chan struct{}, cfg.MaxSessions)
	}
	opts := []gomilter.Option{
		gomilter.WithDynamicMilter(func(uint32, gomilter.OptAction, gomilter.OptProtocol, gomilter.DataSize) gomilter.Milter {
			return newAdapter(s)
		}),
		gomilter.WithNegotiationCallback(negotiator(cfg.Needs)),
		gomilter.WithReadTimeout(cfg.ReadTimeout),
		gomilter.WithWriteTimeout(cfg.WriteTimeout),
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
	err := s.gm.Serve(coalescingListener{Listener: ln, writeTimeout: s.cfg.WriteTimeout})
	if errors.Is(err, gomilter.ErrServerClosed) {
		return nil
	}
	return err
}

// OpenSessions is the number of sessions being served now.
func (s *Server) OpenSessions() int64 { return s.open.Load() }

// TotalSessions is the number of sessions started since the server began.
func (s *Server) TotalSessions() uint64 { return s.total.Load() }

// Shutdown stops accepting connections and waits for open sessions until
// ctx ends; sessions still open then are cut, and the MTA applies its
// milter_default_action to them.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.gm.Shutdown(ctx)
	s.stop()
	s.wg.Wait()
	return err
}

// Close stops everything at once.
func (s *Server) Close() error {
	err := s.gm.Close()
	s.stop()
	return err
}

// acquire takes a session slot, waiting at most SessionWait.
func (s *Server) acquire() bool {
	if s.slots == nil {
		return true
	}
	select { // a free slot needs no timer
	case s.slots <- struct{}{}:
		return true
	default:
	}
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
