package milttest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/internal/logbuf"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// Setup edits the configuration a test server is built from, as a
// config file would (per_recipient_edits, DNS servers, inject_relay, ...).
type Setup func(cfg *daemon.Config)

// StartWith is StartFiles with the configuration setup edits; it returns
// the build or load error, if any.
func StartWith(t testing.TB, dir string, opts Options, setup Setup, paths ...string) (*Server, error) {
	return start(t, dir, opts, setup, paths)
}

// start builds the server through daemon.Stack, as serve builds itself.
func start(t testing.TB, dir string, opts Options, setup Setup, paths []string) (*Server, error) {
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config(dir, opts, paths)
	if setup != nil {
		setup(&cfg)
	}
	st, err := daemon.NewStack(cfg, daemon.StackOptions{Log: log, Libraries: opts.Libraries, NoModules: !opts.Modules,
		PoolSize: 2, Brake: opts.Brake, Regex: opts.Regex})
	if err != nil {
		return nil, err
	}
	eng, err := st.Engine(context.Background())
	if err != nil {
		st.Close()
		return nil, err
	}
	scfg := st.ServerConfig(eng, eng)
	// Tests of the session cap should not wait serve's two seconds for
	// a slot.
	scfg.SessionWait = 200 * time.Millisecond
	srv := milter.NewServer(scfg)
	s := &Server{Dir: dir, Engine: eng, Milter: srv, logs: logs, t: t}
	if !opts.Direct {
		s.Socket = filepath.Join(dir, "milter.sock")
		ln, err := milter.Listen("unix:"+s.Socket, milter.SocketOptions{})
		if err != nil {
			eng.Close(context.Background())
			st.Close()
			return nil, err
		}
		go srv.Serve(ln)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		eng.Close(ctx)
		st.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s, nil
}

// onErrorNames spells Options.OnError as the on_error setting does.
var onErrorNames = map[policy.OnError]string{
	policy.ErrorTempfail: "tempfail",
	policy.ErrorAccept:   "accept",
	policy.ErrorReject:   "reject",
}

// config is serve's default configuration with opts applied: a zero
// option keeps the default. The spool is the test's directory, and no
// memory brake runs unless the test brings one (Options.Brake), since a
// brake watches the whole test process's heap.
func config(dir string, opts Options, paths []string) daemon.Config {
	cfg := daemon.Default()
	for _, p := range paths {
		cfg.Scripts = append(cfg.Scripts, daemon.Script{Path: p})
	}
	cfg.OnError = onErrorNames[opts.OnError]
	cfg.SpoolDir = dir
	cfg.MemoryLimit = 0
	cfg.DryRun = opts.DryRun
	if opts.NegotiateAll {
		cfg.Negotiate = "all"
	}
	if opts.InjectRelay != "" {
		cfg.InjectRelay = opts.InjectRelay
	}
	setPositive(&cfg.ScriptTimeout, opts.Timeout)
	setPositive(&cfg.MaxSessions, opts.MaxSessions)
	setPositive(&cfg.MaxMessageSize, opts.MaxMessageSize)
	setPositive(&cfg.SpoolThreshold, opts.SpoolThreshold)
	setPositive(&cfg.ReadTimeout, opts.ReadTimeout)
	setPositive(&cfg.IdleTimeout, opts.IdleTimeout)
	return cfg
}

func setPositive[T int | int64 | time.Duration](setting *T, v T) {
	if v > 0 {
		*setting = v
	}
}
