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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/callout"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
)

// OnError is what an uncaught script error does to the current command.
type OnError int

const (
	// ErrorTempfail answers milter.ErrorTempFailReply (the default).
	ErrorTempfail OnError = iota
	// ErrorAccept ignores the failing module and continues.
	ErrorAccept
	// ErrorReject answers milter.ErrorRejectReply.
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
	// Sessions counts the sessions being served by network, for
	// accept:inbound_session_count; nil counts none.
	Sessions SessionCounter
	// RelayNetworks are client networks whose sessions get can_relay=true
	// (authenticated sessions always do).
	RelayNetworks []*net.IPNet
	// Split is the per_recipient_edits = "split" rule (split.go); the
	// zero value merges per-recipient copies instead.
	Split RecipientSplit
	// Observer, when set, is told about every finished message.
	Observer func(Summary)
	// CalloutObserver, when set, is told about every callout run, with
	// its duration and error (nil on success), for metrics.
	CalloutObserver func(module, callout string, d time.Duration, err error)
	// Accounting, when set, is told about connections and messages so
	// msys.audit can count them.
	Accounting Accounting
	// DryRun runs every module in shadow mode and DryRunScripts the
	// modules registered by those script files: their verdicts and
	// message edits are logged and reported to ShadowObserver, and the
	// MTA is told to continue. Swap keeps these, OnError and
	// RelayNetworks; SwapWith changes them.
	DryRun        bool
	DryRunScripts []string
	// ShadowObserver, when set, is told about every verdict or edit a
	// dry-run module made that was not applied. action is reject,
	// tempfail, disconnect, continue, tarpit, discard, modify or error.
	ShadowObserver func(module, callout, action string)
	// Regex is the pattern engine of msg:body_match and friends; the
	// msys.pcre engine (modules/pcre.Engine) satisfies it, so both share
	// one syntax and one pattern cache. Without it those methods fail.
	Regex Regex
	// InjectRelay is the SMTP HOST:PORT msg:inject and msg:forward
	// submit new messages to; "" is DefaultInjectRelay. It belongs to
	// the engine, not a generation: a reload keeps it.
	InjectRelay string
}

// Regex is what the message API needs from a PCRE-compatible engine.
type Regex interface {
	// MatchTable returns msys.pcre.match's result table, or LNil when
	// nothing matches.
	MatchTable(L *lua.LState, subject, pattern string) (lua.LValue, error)
	// ReplaceContext replaces every match, reporting whether there was
	// one; it gives up when ctx (the Lua call's) ends.
	ReplaceContext(ctx context.Context, subject, pattern, repl string) (string, bool, error)
}

// GenerationOptions are the settings that belong to one generation of
// scripts and may change at reload. SwapWith takes all of them: a zero
// OnError is tempfail.
type GenerationOptions struct {
	DryRun        bool     // every module in shadow mode
	DryRunScripts []string // modules registered by these files in shadow mode
	OnError       OnError
	RelayNetworks []*net.IPNet
	// Split is the per_recipient_edits = "split" rule (split.go).
	Split RecipientSplit
}

// generationOptions are the options of cfg.
func (cfg *Config) generationOptions() GenerationOptions {
	return GenerationOptions{DryRun: cfg.DryRun, DryRunScripts: cfg.DryRunScripts,
		OnError: cfg.OnError, RelayNetworks: cfg.RelayNetworks, Split: cfg.Split}
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
	// retiring counts deinit runs in flight, so Close can wait for the
	// generations that lost their last session during shutdown too.
	retiring sync.WaitGroup
}

// generation is one loaded set of scripts with its init() done.
type generation struct {
	rt     *luart.Runtime
	sched  *luart.State // runs init, deinit (Momentum's scheduler thread)
	timers *scheduler   // the same State as the timers' host
	number uint64
	once   sync.Once
	// sessions counts open sessions; a superseded generation is retired
	// (deinit) when it drops to zero.
	sessions   int
	superseded bool
	retired    chan struct{}

	dryAll     bool
	dryScripts map[string]bool
	onError    OnError
	relay      []*net.IPNet
	split      RecipientSplit
	// editsPerRecipient: the scripts define a per-recipient phase, so
	// the split rule applies.
	editsPerRecipient bool
	needs             milter.Needs // what the MTA is asked to send
	readsBody         bool         // the scripts name a body reader
	metas             objectMetas
	// bypass[i] is the connection context key that, set to "true",
	// skips module i (Momentum's __bypass_NAME), built once instead of
	// for every callout.
	bypass []string
	// noops holds the names of no-op features already logged: a
	// feature without a milter effect is logged once per generation,
	// not on every message.
	noops sync.Map
}

// noopOnce runs log the first time the generation meets name.
func (g *generation) noopOnce(name string, log func()) {
	if _, seen := g.noops.LoadOrStore(name, struct{}{}); !seen {
		log()
	}
}

// NewEngine runs init() of every module of rt and returns an Engine
// serving it. init must return true, as on Momentum.
func NewEngine(ctx context.Context, rt *luart.Runtime, cfg Config) (*Engine, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	e := &Engine{cfg: cfg, log: cfg.Log}
	g, err := e.prepare(ctx, rt, 1, cfg.generationOptions())
	if err != nil {
		return nil, err
	}
	e.cur.Store(g)
	g.timers.start()
	return e, nil
}

// prepare runs init() of every module on the generation's scheduler
// thread. If one fails, the modules whose init already succeeded get
// their deinit, so what they created is freed and the failed generation
// leaves nothing. What init sets (globals, file-level locals, module
// fields) is what every session sees: they share the generation's state.
func (e *Engine) prepare(ctx context.Context, rt *luart.Runtime, number uint64, opts GenerationOptions) (*generation, error) {
	st := rt.Thread()
	if err := st.Enter(ctx); err != nil {
		rt.Release(st)
		return nil, fmt.Errorf("scheduler state: %w", err)
	}
	defer st.Leave()
	g := &generation{rt: rt, sched: st, readsBody: rt.Mentions(bodyReaders()...), timers: newScheduler(st, e.log), number: number, retired: make(chan struct{}),
		dryAll: opts.DryRun, dryScripts: map[string]bool{}, onError: opts.OnError, relay: opts.RelayNetworks, metas: newObjectMetas(rt),
		split: opts.Split}
	for _, c := range callout.All() {
		g.editsPerRecipient = g.editsPerRecipient || (c.PerRecipient && rt.Defines(c.Name))
	}
	g.needs = g.deriveNeeds()
	for _, path := range opts.DryRunScripts {
		g.dryScripts[path] = true
	}
	g.bypass = make([]string, len(st.Modules))
	for i, m := range st.Modules {
		g.bypass[i] = "__bypass_" + m.Name
	}
	for i, m := range st.Modules {
		fn := m.Callout(callout.Init)
		if fn == nil {
			continue
		}
		ret, err := st.Call(ctx, &luart.CallInfo{Module: m.Name, Callout: callout.Init, Host: g.timers}, fn, m.Table)
		if err == nil && (len(ret) == 0 || ret[0] != lua.LTrue) {
			got := "nothing"
			if len(ret) > 0 {
				got = ret[0].String()
			}
			err = fmt.Errorf("init returned %s, want true", got)
		}
		if err != nil {
			g.timers.stop()
			e.deinit(ctx, st, st.Modules[:i])
			rt.Release(st)
			return nil, fmt.Errorf("module %s (%s): init: %w", m.Name, m.Script, err)
		}
	}
	return g, nil
}

// deinit runs deinit() of mods on st, logging failures.
func (e *Engine) deinit(ctx context.Context, st *luart.State, mods []*luart.Module) {
	if err := st.Enter(context.WithoutCancel(ctx)); err != nil {
		e.log.Error("deinit: no Lua state", "err", err)
		return
	}
	defer st.Leave()
	for _, m := range mods {
		if fn := m.Callout(callout.Deinit); fn != nil {
			if _, err := st.Call(ctx, &luart.CallInfo{Module: m.Name, Callout: callout.Deinit}, fn, m.Table); err != nil {
				e.log.Error("deinit failed", "module", m.Name, "err", err)
			}
		}
	}
}

// Swap makes rt the generation for new sessions. The old generation's
// deinit() runs once its last session has closed.
func (e *Engine) Swap(ctx context.Context, rt *luart.Runtime) error {
	return e.SwapWith(ctx, rt, e.cfg.generationOptions())
}

// SwapWith is Swap with the new generation's own options. On error
// (an init that fails or does not return true) nothing changes.
func (e *Engine) SwapWith(ctx context.Context, rt *luart.Runtime, opts GenerationOptions) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.cur.Load()
	g, err := e.prepare(ctx, rt, old.number+1, opts)
	if err != nil {
		return err
	}
	e.refMu.Lock()
	e.cur.Store(g)
	g.timers.start()
	old.superseded = true
	idle := old.sessions == 0
	e.refMu.Unlock()
	if idle {
		e.retireAsync(old)
	}
	return nil
}

func (e *Engine) retireAsync(g *generation) {
	e.retiring.Add(1)
	go func() {
		defer e.retiring.Done()
		e.retire(context.Background(), g)
	}()
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
		e.retireAsync(g)
	}
}

// Generation is the number of the generation new sessions get.
func (e *Engine) Generation() uint64 { return e.cur.Load().number }

// Runtime is the runtime new sessions get.
func (e *Engine) Runtime() *luart.Runtime { return e.cur.Load().rt }

// Close marks the current generation finished and waits until its
// deinit() has run, which happens when its last session closes, and
// until older generations retiring at the same time are done.
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
		return
	}
	all := make(chan struct{})
	go func() { e.retiring.Wait(); close(all) }()
	select {
	case <-all:
	case <-ctx.Done():
	}
}

func (e *Engine) retire(ctx context.Context, g *generation) {
	g.once.Do(func() {
		g.timers.stop()
		e.deinit(ctx, g.sched, g.sched.Modules)
		g.rt.Release(g.sched)
		g.rt.Close()
		close(g.retired)
	})
}

// Needs tells the milter layer which events the current scripts use.
func (e *Engine) Needs() milter.Needs { return e.cur.Load().needs }

// deriveNeeds derives what to ask of the MTA from the callouts the scripts
// define and the stage each runs at (package callout).
func (g *generation) deriveNeeds() milter.Needs {
	var n milter.Needs
	for _, c := range callout.All() {
		if !g.rt.Defines(c.Name) {
			continue
		}
		switch c.Stage {
		case callout.Connect:
			n.ConnectReply = true
		case callout.Helo:
			n.HeloReply = true
		case callout.Mail:
			n.MailReply = true
		case callout.Rcpt:
			n.RcptReply = true
		case callout.Data:
			n.Data = true
		case callout.EndOfMessage:
			n.Headers = true
		}
	}
	// The split rule answers RCPT itself.
	n.RcptReply = n.RcptReply || (g.split.On && g.editsPerRecipient)
	n.Body = n.Headers && g.readsBody
	return n
}

// bodyReaders are the names through which a script can see, change or
// send the message body: the ec_message methods marked readsBody, and
// msys.expandMacro, whose body macros read it. A generation whose
// scripts name none of them does not ask the MTA for the body.
func bodyReaders() []string {
	names := []string{"expandMacro"}
	for name, m := range messageMethods {
		if m.readsBody {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// errBodyOmitted is what a body method raises when the body was not asked
// for: only a method called through a name built at run time gets here.
var errBodyOmitted error = bodyOmittedError{}

// bodyOmittedError names the body readers when it is read, not at
// package initialisation: the method table refers back to it.
type bodyOmittedError struct{}

func (bodyOmittedError) Error() string {
	return "the message body was not asked of the MTA because no script names a method that reads it (" +
		strings.Join(bodyReaders(), ", ") + "); call the method by its name"
}

// NewSession implements milter.Backend.
func (e *Engine) NewSession(ctx context.Context, info milter.SessionInfo) (milter.Session, error) {
	return newSession(e, e.hold(), info), nil
}
