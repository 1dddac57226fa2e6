// Package policy runs Momentum-style Lua policy modules against milter
// sessions: it fires the callouts at the matching SMTP stage, gives the
// scripts Momentum's vctx, msg and accept objects, and turns what they
// decided into milter verdicts and message changes.
//
// Data flows one way: milter session → callout → verdict → milter action.
package policy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
)

// OnError is what an uncaught script error does to the current command.
type OnError int

const (
	// ErrorTempfail answers 451 4.3.0 (the default).
	ErrorTempfail OnError = iota
	// ErrorAccept ignores the failing module and continues.
	ErrorAccept
	// ErrorReject answers 554 5.3.0.
	ErrorReject
)

// ParseOnError reads "tempfail", "accept" or "reject".
func ParseOnError(s string) (OnError, error) {
	switch strings.ToLower(s) {
	case "tempfail", "":
		return ErrorTempfail, nil
	case "accept":
		return ErrorAccept, nil
	case "reject":
		return ErrorReject, nil
	}
	return 0, fmt.Errorf("unknown --on-error action %q: want tempfail, accept or reject", s)
}

// Config sets up an Engine.
type Config struct {
	OnError OnError
	Log     *slog.Logger
	// RelayNetworks are client networks whose sessions get can_relay=true
	// (authenticated sessions always do).
	RelayNetworks []*net.IPNet
	// Observer, when set, is told about every finished message.
	Observer func(Summary)
	// CalloutObserver, when set, is told about every callout run, with
	// its duration and error (nil on success), for metrics.
	CalloutObserver func(module, callout string, d time.Duration, err error)
	// Accounting, when set, is told about connections and messages so
	// msys.audit can count them.
	Accounting Accounting
}

// Accounting receives luamilter's own session accounting.
type Accounting interface {
	Connection(ctx context.Context, ip net.IP) error
	Disconnect(ctx context.Context, ip net.IP) error
	Reception(ctx context.Context, ip net.IP) error
	Rejection(ctx context.Context, ip net.IP) error
}

// Engine is the milter.Backend that runs the current generation of
// scripts. Reload swaps generations; sessions keep the one they began on.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	cur   atomic.Pointer[generation]
	mu    sync.Mutex // serialises Swap
	refMu sync.Mutex // guards generation.sessions and .superseded

	sessions liveSessions
}

// generation is one loaded set of scripts with its init() done.
type generation struct {
	rt     *luart.Runtime
	sched  *luart.State // runs init, deinit (Momentum's scheduler thread)
	number uint64
	once   sync.Once
	// sessions counts open sessions; a superseded generation is retired
	// (deinit) when it drops to zero.
	sessions   int
	superseded bool
	retired    chan struct{}
}

// NewEngine runs init() of every module of rt and returns an Engine
// serving it. init must return true, as on Momentum.
func NewEngine(ctx context.Context, rt *luart.Runtime, cfg Config) (*Engine, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	e := &Engine{cfg: cfg, log: cfg.Log}
	g, err := e.prepare(ctx, rt, 1)
	if err != nil {
		return nil, err
	}
	e.cur.Store(g)
	return e, nil
}

// prepare runs init() of every module on a dedicated State.
func (e *Engine) prepare(ctx context.Context, rt *luart.Runtime, number uint64) (*generation, error) {
	st, err := rt.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduler state: %w", err)
	}
	g := &generation{rt: rt, sched: st, number: number, retired: make(chan struct{})}
	for _, m := range st.Modules {
		fn := m.Callout("init")
		if fn == nil {
			continue
		}
		ret, err := st.Call(ctx, &luart.CallInfo{Module: m.Name, Callout: "init"}, fn, m.Table)
		if err != nil {
			rt.Release(st)
			return nil, fmt.Errorf("module %s: init: %w", m.Name, err)
		}
		if len(ret) == 0 || ret[0] != lua.LTrue {
			rt.Release(st)
			got := "nothing"
			if len(ret) > 0 {
				got = ret[0].String()
			}
			return nil, fmt.Errorf("module %s: init returned %s, want true", m.Name, got)
		}
	}
	return g, nil
}

// Swap makes rt the generation for new sessions. The old generation's
// deinit() runs once its last session has closed.
func (e *Engine) Swap(ctx context.Context, rt *luart.Runtime) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.cur.Load()
	g, err := e.prepare(ctx, rt, old.number+1)
	if err != nil {
		return err
	}
	e.refMu.Lock()
	e.cur.Store(g)
	old.superseded = true
	idle := old.sessions == 0
	e.refMu.Unlock()
	if idle {
		go e.retire(context.Background(), old)
	}
	return nil
}

// hold counts a new session on the current generation.
func (e *Engine) hold() *generation {
	e.refMu.Lock()
	defer e.refMu.Unlock()
	g := e.cur.Load()
	g.sessions++
	return g
}

// drop ends a session's hold on g, retiring g if it was the last one.
func (e *Engine) drop(g *generation) {
	e.refMu.Lock()
	g.sessions--
	idle := g.superseded && g.sessions == 0
	e.refMu.Unlock()
	if idle {
		go e.retire(context.Background(), g)
	}
}

// Generation is the number of the generation new sessions get.
func (e *Engine) Generation() uint64 { return e.cur.Load().number }

// Runtime is the runtime new sessions get.
func (e *Engine) Runtime() *luart.Runtime { return e.cur.Load().rt }

// Close marks the current generation finished and waits until its
// deinit() has run, which happens when its last session closes.
func (e *Engine) Close(ctx context.Context) {
	e.refMu.Lock()
	g := e.cur.Load()
	g.superseded = true
	idle := g.sessions == 0
	e.refMu.Unlock()
	if idle {
		e.retire(ctx, g)
	}
	select {
	case <-g.retired:
	case <-ctx.Done():
	}
}

func (e *Engine) retire(ctx context.Context, g *generation) {
	g.once.Do(func() {
		for _, m := range g.sched.Modules {
			if fn := m.Callout("deinit"); fn != nil {
				if _, err := g.sched.Call(ctx, &luart.CallInfo{Module: m.Name, Callout: "deinit"}, fn, m.Table); err != nil {
					e.log.Error("deinit failed", "module", m.Name, "err", err)
				}
			}
		}
		g.rt.Release(g.sched)
		g.rt.Close()
		close(g.retired)
	})
}

// Needs tells the milter layer which events the current scripts use.
func (e *Engine) Needs() milter.Needs {
	rt := e.cur.Load().rt
	body := false
	for _, c := range []string{"validate_data", "validate_data_spool", "validate_data_spool_each_rcpt", "validate_set_binding"} {
		body = body || rt.Defines(c)
	}
	return milter.Needs{Data: rt.Defines("validate_rcptto_list_final"), Body: body}
}

// NewSession implements milter.Backend.
func (e *Engine) NewSession(ctx context.Context, info milter.SessionInfo) (milter.Session, error) {
	g := e.hold()
	st, err := g.rt.Acquire(ctx)
	if err != nil {
		e.drop(g)
		return nil, err
	}
	return newSession(e, g, st, info), nil
}
