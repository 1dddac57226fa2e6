package policy

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/callout"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
)

// Dictionary selectors of vctx:get/set (VCTX_* and ECMESS_CTX_* alike).
const (
	dictConn = 0
	dictMess = 1
)

// session is one SMTP session seen through the milter. It leases a Lua
// State from the pool for each SMTP event that runs Lua (see lease.go).
type session struct {
	eng       *Engine
	gen       *generation
	st        *luart.State        // thread held for the current event; nil between events
	lastState uint64              // ID of the State st was, to ask for it again
	logCache  *slog.Logger        // see logger
	logFn     func() *slog.Logger // s.logger, made once: a method value allocates
	id        uint64
	actions   milter.Actions // modification actions the MTA offered
	info      luart.CallInfo

	selfs []*lua.LTable // one `self` per module
	ran   []bool        // module ran Lua this session (for validate_dealloc)
	objs  *luaObjects   // vctx and ac, usable in any State

	argBuf   []lua.LValue   // callout arguments, reused (see runModules)
	callInfo luart.CallInfo // what the running callout's context carries

	conn   map[string]string
	mess   map[string]string
	peer   milter.Conn
	client string // peer.IP as text, for logs
	macro  milter.Macros
	helo   string

	reply     reply // what the scripts decided for the current command
	msg       *message
	msgCount  int
	rcptCount int
	scriptDur time.Duration
	tarpit    time.Duration // delay requested by vctx:tarpit
	trail     trail         // what became of the current message (summary.go)
}

// reply is the SMTP reply a phase's scripts have set.
type reply struct {
	code       int
	text       string
	disconnect bool
	module     string // the module that set it last
}

func newSession(e *Engine, g *generation, info milter.SessionInfo) *session {
	s := &session{eng: e, gen: g, id: info.ID, actions: info.Actions,
		conn: map[string]string{}, mess: map[string]string{},
		argBuf: make([]lua.LValue, 0, 5)} // self and up to four callout arguments
	s.info.Host = s
	s.ran = make([]bool, g.rt.ModuleCount())
	s.objs = newLuaObjects(s)
	s.logFn = s.logger
	return s
}

func (s *session) Connect(ctx context.Context, c milter.Conn, m milter.Macros) milter.Verdict {
	defer s.settle()
	s.peer, s.macro = c, m
	s.info.PeerIP = c.IP
	if c.IP != nil {
		s.client = c.IP.String()
		s.logCache = nil
	}
	if a := s.eng.cfg.Accounting; a != nil && c.IP != nil {
		if err := a.Connection(ctx, c.IP); err != nil {
			s.logger().Warn("session accounting", "err", err)
		}
	}
	s.fillConnMacros(m)
	// Momentum runs core_validate_accept as it accepts the connection,
	// before the connect callouts; the milter's connect event is the
	// first the milter hears of it, still before the MTA's greeting.
	// Both answer the connection, so a refusal in the first ends it.
	s.beginPhase()
	if v := s.phase(ctx, callout.CoreValidateAccept, s.objs.ac, s.objs.vctx); v.Action != milter.Continue {
		return s.refused(milter.StageConnect, s.client, v)
	}
	s.beginPhase()
	return s.refused(milter.StageConnect, s.client, s.phase(ctx, callout.ValidateConnect, s.objs.ac, s.objs.vctx))
}

func (s *session) Helo(ctx context.Context, name string, m milter.Macros) milter.Verdict {
	defer s.settle()
	s.macro = m
	s.helo = name
	line := "EHLO " + name
	s.conn["ehlo_domain"] = name
	s.conn["ehlo_string"] = line
	s.fillConnMacros(m)
	s.beginPhase()
	return s.refused(milter.StageHelo, name, s.phase(ctx, callout.ValidateEHLO, lua.LString(line), s.objs.ac, s.objs.vctx))
}

func (s *session) MailFrom(ctx context.Context, from, args string, m milter.Macros) milter.Verdict {
	defer s.settle()
	s.macro = m
	s.fillConnMacros(m)
	s.closeMessage()
	clear(s.mess) // the last message's context ends here; the map is reused
	s.msg = newMessage(s, from, args)
	s.trail.begin()
	s.msgCount++
	s.conn["connection_message_count"] = itoa(s.msgCount)
	line := "MAIL FROM:<" + from + ">" + argSuffix(args)
	local, domain := splitAddr(from)
	s.mess["mailfrom_string"] = line
	s.mess["mailfrom_localpart"] = local
	s.mess["mailfrom_domain"] = domain
	s.conn["message_rcpt_count"] = "0" // a connection variable on Momentum
	s.setQueueID(m)
	s.beginPhase()
	v := s.refused(milter.StageMail, from, s.phase(ctx, callout.ValidateMailFrom, lua.LString(line), s.objs.ac, s.objs.vctx))
	if v.Action != milter.Continue {
		s.trail.end = v
		s.closeMessage()
	}
	return v
}

func (s *session) RcptTo(ctx context.Context, rcpt, args string, m milter.Macros) milter.Verdict {
	defer s.settle()
	s.macro = m
	s.setQueueID(m)
	if s.msg == nil { // RCPT without MAIL: keep going with an empty sender
		s.msg = newMessage(s, "", "")
		s.trail.begin()
	}
	if s.splits() {
		return s.rcptRefused(rcpt, milter.TooManyRecipientsReply())
	}
	line := "RCPT TO:<" + rcpt + ">" + argSuffix(args)
	local, domain := splitAddr(rcpt)
	s.mess["rcptto_string"] = line
	s.mess["rcptto_localpart"] = local
	s.mess["rcptto_domain"] = domain
	s.msg.Current = rcpt
	s.beginPhase()
	msgUD := s.objs.message(s.msg)
	v := s.phase(ctx, callout.ValidateRcptTo, msgUD, lua.LString(line), s.objs.ac, s.objs.vctx)
	if v.Action != milter.Continue {
		return s.rcptRefused(rcpt, v)
	}
	// validate_rcptto_list sees the list with this recipient in it; the
	// reply set in validate_rcptto still stands (same SMTP command).
	s.msg.AddAccepted(rcpt, args)
	s.conn["message_rcpt_count"] = itoa(len(s.msg.Rcpts))
	v = s.phase(ctx, callout.ValidateRcptToList, lua.LNil, s.objs.vctx)
	if v.Action != milter.Continue {
		s.msg.Rcpts = s.msg.Rcpts[:len(s.msg.Rcpts)-1]
		s.conn["message_rcpt_count"] = itoa(len(s.msg.Rcpts))
		return s.rcptRefused(rcpt, v)
	}
	s.rcptCount++
	s.conn["connection_rcpt_count"] = itoa(s.rcptCount)
	s.trail.rcpt(rcpt, "accept")
	return v
}

func (s *session) Data(ctx context.Context, m milter.Macros) milter.Verdict {
	defer s.settle()
	s.macro = m
	s.setQueueID(m)
	s.beginPhase()
	v := s.refused(milter.StageData, "", s.phase(ctx, callout.ValidateRcptToListFinal, lua.LNil, s.objs.vctx))
	if v.Action != milter.Continue {
		s.trail.end = v
	}
	return v
}

func (s *session) Abort(context.Context, milter.Macros) {
	s.closeMessage()
	clear(s.mess)
}

func (s *session) Close(ctx context.Context) {
	s.closeMessage()
	s.dealloc(ctx)
	if a := s.eng.cfg.Accounting; a != nil && s.peer.IP != nil {
		if err := a.Disconnect(ctx, s.peer.IP); err != nil {
			s.logger().Warn("session accounting", "err", err)
		}
	}
	s.settle()
	s.eng.drop(s.gen)
}

// dealloc runs validate_dealloc in the modules that ran this session.
func (s *session) dealloc(ctx context.Context) {
	if !s.gen.rt.Defines(callout.ValidateDealloc) || !slices.Contains(s.ran, true) {
		return
	}
	if err := s.acquire(ctx); err != nil {
		s.logger().Error("validate_dealloc not run: no Lua state", "err", err)
		return
	}
	for i := range s.ran {
		if s.st == nil {
			return
		}
		mod := s.st.Modules[i]
		fn := mod.Callout(callout.ValidateDealloc)
		if fn == nil || !s.ran[i] {
			continue
		}
		if _, err := s.call(ctx, mod, callout.ValidateDealloc, fn, s.selfs[i]); err != nil {
			s.logScriptError(err)
		}
	}
}

func (s *session) closeMessage() {
	s.summarizeUnfinished()
	if s.msg != nil {
		s.msg.close()
		s.msg = nil
	}
}

// beginPhase resets the reply: a code applies only to its own command.
func (s *session) beginPhase() { s.reply = reply{} }

// phase runs a callout in every module, in load order, until one returns
// VALIDATE_DONE, then turns the reply the scripts set into a verdict.
func (s *session) phase(ctx context.Context, callout string, args ...lua.LValue) milter.Verdict {
	failed, v := s.runModules(ctx, callout, args...)
	s.waitTarpit(ctx)
	if failed {
		return v
	}
	return s.verdict()
}

// waitTarpit sleeps for what vctx:tarpit asked, after the Lua call.
func (s *session) waitTarpit(ctx context.Context) {
	if s.tarpit <= 0 {
		return
	}
	s.settle() // the State is not needed while the client waits
	t := time.NewTimer(s.tarpit)
	defer t.Stop()
	s.tarpit = 0
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runModules calls callout on each module; it reports true and the error
// verdict when a script failed.
func (s *session) runModules(ctx context.Context, callout string, args ...lua.LValue) (bool, milter.Verdict) {
	if !s.gen.rt.Defines(callout) {
		return false, milter.Verdict{}
	}
	if err := s.acquire(ctx); err != nil {
		return true, s.noState(err)
	}
	for i := range s.ran {
		if s.st == nil { // replaced after a panic, and no new one
			return true, s.noState(errNoState)
		}
		mod := s.st.Modules[i]
		fn := mod.Callout(callout)
		if fn == nil {
			continue
		}
		if s.conn[s.gen.bypass[i]] == "true" {
			continue
		}
		s.ran[i] = true
		// The argument list is rebuilt in a per-session buffer: Call
		// copies it onto the Lua stack and keeps nothing.
		s.argBuf = append(append(s.argBuf[:0], s.selfs[i]), args...)
		full := s.argBuf
		if s.gen.dryRun(mod) {
			snap := s.shadowBegin()
			first, err := s.call(ctx, mod, callout, fn, full...)
			s.shadowEnd(mod, callout, snap, first, err)
			continue
		}
		before := s.reply
		first, err := s.call(ctx, mod, callout, fn, full...)
		if err != nil {
			s.reply.module = mod.Name
			return true, s.scriptFailed(err)
		}
		if s.reply != before {
			s.reply.module = mod.Name // for the refusal's log line
		}
		if s.returnCode(mod, callout, first) == 1 {
			break
		}
	}
	return false, milter.Verdict{}
}

// call runs one callout through the runtime's wrapper, replacing the
// State if it was discarded after a panic. It returns the callout's first
// result, nil when it returned none.
func (s *session) call(ctx context.Context, mod *luart.Module, callout string, fn *lua.LFunction, args ...lua.LValue) (lua.LValue, error) {
	s.info.Module, s.info.Callout = mod.Name, callout
	start := time.Now()
	s.callInfo = s.info // a copy, so libraries see this call's values
	ret, err := s.st.Call1(ctx, &s.callInfo, fn, args...)
	s.info.TLS = s.callInfo.TLS // _TLS, made on first use, stays the session's
	d := time.Since(start)
	s.scriptDur += d
	if obs := s.eng.cfg.CalloutObserver; obs != nil {
		obs(mod.Name, callout, d, err)
	}
	if s.st.Broken() {
		s.replaceState(ctx)
	}
	return ret, err
}

// replaceState swaps a thread that saw a Go panic for a fresh one.
func (s *session) replaceState(ctx context.Context) {
	s.gen.rt.Release(s.st)
	s.st = nil
	s.logger().Warn("Lua thread replaced after a Go panic")
	if err := s.acquire(ctx); err != nil {
		s.logger().Error("no Lua state after a panic", "err", err)
	}
}

// returnCode interprets a callout's return (its first result, nil for
// none): 0 CONT, 1 DONE, 2 AGAIN.
func (s *session) returnCode(mod *luart.Module, name string, ret lua.LValue) int {
	if name == callout.CoreFinalValidation {
		return 0 // Momentum's hook returns nothing: every module runs
	}
	if ret == nil || ret == lua.LNil {
		s.modLog(mod.Name).Warn("callout returned nothing; treating it as VALIDATE_CONT", "callout", name)
		return 0
	}
	if n, ok := ret.(lua.LNumber); ok && (n == 0 || n == 1 || n == 2) {
		if n == 2 {
			s.modLog(mod.Name).Warn("VALIDATE_AGAIN is not supported by a milter; treating it as VALIDATE_CONT", "callout", name)
			return 0
		}
		return int(n)
	}
	s.modLog(mod.Name).Warn("must return one of msys.core.VALIDATE_CONT, VALIDATE_DONE or VALIDATE_AGAIN; treating it as VALIDATE_CONT",
		"callout", name, "returned", ret.String())
	return 0
}

// logger returns the session's logger, which carries the session id,
// queue id and client. It is built on first use after one of them
// changes: at the usual levels most messages log nothing through it, and
// building it for every message cost about as much as a callout.
func (s *session) logger() *slog.Logger {
	if s.logCache == nil {
		attrs := make([]any, 0, 6)
		attrs = append(attrs, "session", s.id)
		if s.info.QueueID != "" {
			attrs = append(attrs, "queue_id", s.info.QueueID)
		}
		if s.client != "" {
			attrs = append(attrs, "client", s.client)
		}
		s.logCache = s.eng.log.With(attrs...)
	}
	return s.logCache
}

// logs reports whether the session's lines at level are written. The
// engine's logger decides that, as the session's only adds attributes:
// asking it spares building the session's logger for a line that is
// dropped, which at warn level would happen for every message (the
// queue id changes).
func (s *session) logs(level slog.Level) bool {
	return s.eng.log.Enabled(context.Background(), level)
}

// modLog tags the session's logger with a module name.
func (s *session) modLog(module string) *slog.Logger {
	return s.logger().With("module", module)
}

func (s *session) setQueueID(m milter.Macros) {
	if id := m.Get("i"); id != "" && id != s.info.QueueID {
		s.info.QueueID = id
		s.logCache = nil
	}
}

func argSuffix(args string) string {
	if args == "" {
		return ""
	}
	return " " + args
}

// splitAddr splits local@domain at the last @.
func splitAddr(addr string) (local, domain string) {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[:i], addr[i+1:]
	}
	return addr, ""
}
