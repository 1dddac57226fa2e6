package milttest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/luamilter/luamilter/callout"
	"github.com/luamilter/luamilter/internal/logbuf"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// Setup builds, against the server's own logger, the msys.* libraries
// and the policy engine configuration a test server runs with, the way
// the daemon builds them (e.g. modules.Build, with Config.Accounting set
// to the set's Audit so msys.audit sees the sessions). Log, Regex (when
// nil) and OnError come from the server and its Options.
type Setup func(log *slog.Logger) ([]luart.Library, policy.Config, error)

// StartWith is StartFiles with the libraries and engine configuration
// that setup returns; it returns the setup or load error, if any.
func StartWith(t testing.TB, dir string, opts Options, setup Setup, paths ...string) (*Server, error) {
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	extra, ecfg, err := setup(log)
	if err != nil {
		return nil, err
	}
	libs := append(append(policy.Libraries(), opts.Libraries...), extra...)
	rt, err := luart.New(luart.Config{Callouts: callout.Names(), Scripts: paths, Timeout: opts.Timeout, Libraries: libs, Log: log,
		PoolSize: 2, Brake: opts.Brake})
	if err != nil {
		return nil, err
	}
	ecfg.Log, ecfg.OnError = log, opts.OnError
	if ecfg.Regex == nil {
		ecfg.Regex = opts.Regex
	}
	if ecfg.InjectRelay == "" {
		ecfg.InjectRelay = opts.InjectRelay
	}
	eng, err := policy.NewEngine(context.Background(), rt, ecfg)
	if err != nil {
		return nil, err
	}
	needs := eng.Needs
	if opts.NegotiateAll {
		needs = func() milter.Needs { return milter.Needs{All: true} }
	}
	srv := milter.NewServer(milter.Config{Backend: eng, Log: log, Needs: needs, Macros: milter.DefaultMacros,
		MaxSessions: opts.MaxSessions, SessionWait: 200 * time.Millisecond, SpoolDir: dir,
		SpoolThreshold: opts.SpoolThreshold, MaxMessageSize: opts.MaxMessageSize,
		ReadTimeout: opts.ReadTimeout, IdleTimeout: opts.IdleTimeout})
	sock := filepath.Join(dir, "milter.sock")
	ln, err := milter.Listen("unix:"+sock, milter.SocketOptions{})
	if err != nil {
		return nil, err
	}
	go srv.Serve(ln)
	s := &Server{Socket: sock, Dir: dir, Engine: eng, Milter: srv, logs: logs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		eng.Close(ctx)
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s, nil
}
