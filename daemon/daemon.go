package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/milter/record"
	"github.com/luamilter/luamilter/policy"
)

// Options are what the daemon needs besides its Config.
type Options struct {
	// Log receives every log line; nil means slog.Default().
	Log *slog.Logger
	// Load re-reads the configuration at reload (config file, flags,
	// environment). Nil reuses the Config given to New.
	Load func() (Config, error)
	// ConfigFile is watched together with the scripts when Config.Watch
	// is set; empty when there is no file.
	ConfigFile string
	// Level, when set, is the logger's level; a reload sets it to the
	// new log_level.
	Level *slog.LevelVar
}

// Daemon is a running luamilter: libraries, policy engine, milter server,
// control socket, metrics listener and file watcher.
type Daemon struct {
	opts  Options
	log   *slog.Logger
	mu    sync.Mutex // guards cfg
	cfg   Config
	stack *Stack
	eng   *policy.Engine
	srv   *milter.Server
	met   *metrics
	rec   *record.Writer // nil unless recording

	listeners []net.Listener
	control   net.Listener
	ctlPath   string
	httpSrv   *http.Server
	httpLn    net.Listener
	watch     *watcher

	reloadMu     sync.Mutex
	started      bool // Start succeeded: only then is "stopped" worth a line
	stopping     atomic.Bool
	shutdownOnce sync.Once
	serveErr     chan error
	wg           sync.WaitGroup // serving goroutines of control and metrics
	gc           *gcTuner       // from Start to the end of shutdown
}

// New builds the libraries, compiles the scripts, runs every module's
// init() and prepares the milter server, all through a Stack. Nothing
// listens yet: see Start.
func New(cfg Config, opts Options) (*Daemon, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	d := &Daemon{opts: opts, log: opts.Log, cfg: cfg, serveErr: make(chan error, 8)}
	d.met = newMetrics(d)
	st, err := NewStack(cfg, StackOptions{Log: d.log, Observe: d.met.observe,
		Check: func(rt *luart.Runtime, cfg Config) error { return d.reportFindings(Lint(rt), cfg.Strict) }})
	if err != nil {
		return nil, err
	}
	d.stack = st
	if d.eng, err = st.Engine(context.Background()); err != nil {
		d.closeLibs()
		return nil, err
	}
	var backend milter.Backend = &observedBackend{next: d.eng, verdicts: d.met.verdicts}
	if cfg.Record != "" {
		if d.rec, err = record.OpenWriter(cfg.Record, cfg.RecordMaxBytes); err != nil {
			d.eng.Close(context.Background())
			d.closeLibs()
			return nil, err
		}
		backend = record.Wrap(backend, d.recordSink(), sampler(cfg.RecordSample))
		d.log.Info("recording transactions", "dir", cfg.Record, "max_bytes", cfg.RecordMaxBytes, "sample", cfg.RecordSample)
	}
	scfg := st.ServerConfig(backend, d.eng)
	scfg.Needs = d.needs
	d.srv = milter.NewServer(scfg)
	return d, nil
}

// needs is what a new milter connection negotiates under the negotiate
// setting in effect; asked per connection, so a reload changes it for
// the connections that follow.
func (d *Daemon) needs() milter.Needs {
	return NeedsFunc(d.Config().Negotiate, d.eng)()
}

func (d *Daemon) closeLibs() {
	if err := d.stack.Close(); err != nil {
		d.log.Warn("closing libraries", "err", err)
	}
}

// Start prepares the spool directory (see prepareSpoolDir), opens the
// milter sockets, the control socket and the metrics listener and starts
// serving. On error everything opened is closed.
func (d *Daemon) Start() error {
	cfg := d.Config()
	d.gc = startGCTuner(cfg, d.log)
	sockOpts, err := socketOptions(cfg)
	if err != nil {
		return err
	}
	spool, err := prepareSpoolDir(cfg.SpoolDir)
	if err != nil {
		return err
	}
	d.log.Info("spool directory", "path", cfg.SpoolDir, "created", spool.created, "stale_files_removed", spool.swept)
	if spool.sweepErr != nil {
		d.log.Warn("spool directory: some stale spool files could not be removed", "path", cfg.SpoolDir, "err", spool.sweepErr)
	}
	fail := func(err error) error {
		d.closeListeners()
		return err
	}
	for _, spec := range cfg.Listen {
		ln, err := milter.Listen(spec, sockOpts)
		if err != nil {
			return fail(err)
		}
		d.listeners = append(d.listeners, ln)
	}
	if err := d.openControl(cfg.ControlSocket); err != nil {
		return fail(err)
	}
	if cfg.MetricsListen != "" {
		ln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fail(fmt.Errorf("metrics listener: %w", err))
		}
		d.httpLn = ln
		d.httpSrv = &http.Server{Handler: d.met.handler(d, cfg.Pprof), ReadHeaderTimeout: 10 * time.Second}
	}
	if cfg.Watch {
		w, err := newWatcher(d)
		if err != nil {
			return fail(err)
		}
		d.watch = w
	}
	for i, ln := range d.listeners {
		go func(ln net.Listener, spec string) {
			if err := d.srv.Serve(ln); err != nil {
				d.serveErr <- fmt.Errorf("serve %s: %w", spec, err)
			}
		}(ln, cfg.Listen[i])
		d.log.Info("listening", "socket", cfg.Listen[i], "modules", d.eng.Runtime().ModuleNames(), "generation", d.eng.Generation())
	}
	if d.httpSrv != nil {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			if err := d.httpSrv.Serve(d.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.serveErr <- fmt.Errorf("metrics: %w", err)
			}
		}()
		d.log.Info("metrics listening", "addr", d.httpLn.Addr().String())
	}
	if d.control != nil {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.serveControl()
		}()
	}
	d.started = true
	return nil
}

func (d *Daemon) closeListeners() {
	for _, ln := range d.listeners {
		ln.Close()
	}
	d.listeners = nil
	if d.control != nil {
		d.control.Close()
		os.Remove(d.ctlPath)
		d.control = nil
	}
	if d.httpLn != nil {
		d.httpLn.Close()
		d.httpLn = nil
	}
	if d.watch != nil {
		d.watch.close()
		d.watch = nil
	}
}

// Config returns the configuration in effect.
func (d *Daemon) Config() Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Generation is the number of the script generation new sessions get.
func (d *Daemon) Generation() uint64 { return d.eng.Generation() }

// MetricsAddr is the metrics listener's address, or nil when off.
func (d *Daemon) MetricsAddr() net.Addr {
	if d.httpLn == nil {
		return nil
	}
	return d.httpLn.Addr()
}

// ErrForced is returned by Run when a second stop signal cut the
// graceful shutdown short.
var ErrForced = errors.New("second stop signal: exiting without waiting for sessions")

// Run serves until ctx ends or a stop signal (SIGTERM, SIGINT) arrives on
// sig, reloading on SIGHUP, then shuts down gracefully. A second stop
// signal during shutdown returns ErrForced at once.
func (d *Daemon) Run(ctx context.Context, sig <-chan os.Signal) error {
	for {
		select {
		case err := <-d.serveErr:
			d.log.Error("serving failed; stopping", "err", err)
			d.shutdownWithTimeout(sig)
			return err
		case <-ctx.Done():
			d.log.Info("shutting down", "reason", context.Cause(ctx).Error(), "open_sessions", d.srv.OpenSessions())
			return d.shutdownWithTimeout(sig)
		case s := <-sig:
			if s == syscall.SIGHUP {
				d.log.Info("reload requested", "signal", s.String())
				d.Reload(context.Background())
				continue
			}
			d.log.Info("shutting down", "signal", s.String(), "open_sessions", d.srv.OpenSessions())
			return d.shutdownWithTimeout(sig)
		}
	}
}

// shutdownWithTimeout runs Shutdown bounded by the configured timeout,
// watching sig for a second stop signal.
func (d *Daemon) shutdownWithTimeout(sig <-chan os.Signal) error {
	// Not WithTimeout plus defer cancel: after a second signal the
	// caller exits, and cancelling would let the shutdown race ahead
	// and cut sessions and run deinit on the way out.
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(d.Config().ShutdownTimeout, cancel)
	done := make(chan error, 1)
	go func() { done <- d.Shutdown(ctx) }()
	for {
		select {
		case err := <-done:
			timer.Stop()
			cancel()
			return err
		case s := <-sig:
			if s == syscall.SIGHUP {
				continue
			}
			d.log.Warn("second signal: exiting now; the MTA applies milter_default_action to open sessions", "signal", s.String())
			return ErrForced
		}
	}
}

// Shutdown stops accepting connections and lets open sessions finish
// until ctx ends; the sessions left then are cut (their milter
// connections close without a reply, so the MTA applies its
// milter_default_action). Then every generation's deinit() runs and the
// libraries are closed. It returns nil in both cases.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.shutdownOnce.Do(func() { d.shutdown(ctx) })
	return nil
}

func (d *Daemon) shutdown(ctx context.Context) {
	d.reloadMu.Lock() // let a reload in progress finish first
	d.stopping.Store(true)
	d.reloadMu.Unlock()
	if d.control != nil {
		d.control.Close()
		os.Remove(d.ctlPath)
	}
	if d.watch != nil {
		d.watch.close()
	}
	if err := d.srv.Shutdown(ctx); err != nil {
		d.log.Warn("shutdown timeout: cutting the sessions still open; the MTA applies its milter_default_action to them",
			"open_sessions", d.srv.OpenSessions())
		d.srv.Close()
	}
	deinitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.eng.Close(deinitCtx)
	if d.httpSrv != nil {
		hctx, hcancel := context.WithTimeout(context.Background(), time.Second)
		d.httpSrv.Shutdown(hctx)
		hcancel()
	}
	d.wg.Wait()
	if d.rec != nil {
		d.rec.Close()
	}
	d.closeLibs()
	d.gc.close()
	// After a failed Start the caller reports why; a "stopped" line
	// first would read as if the daemon had run and ended normally.
	if d.started {
		d.log.Info("stopped", "sessions_served", d.srv.TotalSessions())
	}
}

// recordSink writes records, logging the first write error of a run of
// them rather than one line per transaction.
func (d *Daemon) recordSink() record.Sink {
	var failing atomic.Bool
	return func(r *record.Record) {
		if err := d.rec.Write(r); err != nil {
			if !failing.Swap(true) {
				d.log.Warn("recording a transaction failed", "err", err)
			}
			return
		}
		failing.Store(false)
	}
}

// sampler says whether to record a transaction: each with probability
// fraction.
func sampler(fraction float64) func() bool {
	switch {
	case fraction >= 1:
		return nil
	case fraction <= 0:
		return func() bool { return false }
	}
	return func() bool { return rand.Float64() < fraction }
}
