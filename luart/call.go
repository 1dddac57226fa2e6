package luart

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// errLimit marks a call stopped by the memory brake.
var errLimit = errors.New("memory limit exceeded")

// Call runs fn with args under the runtime's deadline, the memory brake
// and panic isolation. It is the only way luamilter calls into Lua.
func (st *State) Call(parent context.Context, info *CallInfo, fn *lua.LFunction, args ...lua.LValue) ([]lua.LValue, error) {
	ret, _, err := st.call(parent, info, fn, args, true)
	return ret, err
}

// Call1 is Call for a caller that only looks at the first result, nil
// when fn returned none: a callout's return code. It spares the slice of
// results, one allocation in every callout.
func (st *State) Call1(parent context.Context, info *CallInfo, fn *lua.LFunction, args ...lua.LValue) (lua.LValue, error) {
	_, first, err := st.call(parent, info, fn, args, false)
	return first, err
}

func (st *State) call(parent context.Context, info *CallInfo, fn *lua.LFunction, args []lua.LValue, all bool) (ret []lua.LValue, first lua.LValue, err error) {
	if st.broken {
		return nil, nil, &ScriptError{Kind: KindPanic, Module: info.Module, Callout: info.Callout, Msg: "state was discarded after a panic"}
	}
	if !st.entered {
		// Two threads of one state running at once would corrupt it.
		panic("luart: Call on a State that has not Entered")
	}
	var ctx context.Context
	var cause func() error
	if st.calls.running {
		// A call from inside a call (a library calling back into Lua)
		// gets its own contexts; the State's reusable one is taken.
		c, cancel := st.nestedContext(parent, info)
		defer cancel()
		ctx, cause = c, func() error { return context.Cause(c) }
	} else {
		c := st.calls.begin(parent, info, st.rt.cfg.Timeout)
		defer st.calls.end()
		if b := st.rt.cfg.Brake; b != nil {
			defer b.untrack(b.track(st.calls.brakeCancel()))
		}
		ctx, cause = c, st.calls.cause
	}
	L := st.L
	prevInfo := st.info
	st.info = info
	// A nested call (a library calling back into Lua) must leave the
	// outer call its context: its deadline and the State it runs for.
	prevCtx := L.Context()
	L.SetContext(ctx)
	defer func() {
		if prevCtx != nil {
			L.SetContext(prevCtx)
		} else {
			L.RemoveContext()
		}
		st.info = prevInfo
		if r := recover(); r != nil {
			st.broken = true
			ret, first, err = nil, nil, &ScriptError{Kind: KindPanic, Module: info.Module, Callout: info.Callout,
				Msg: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	base := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	perr := L.PCall(len(args), lua.MultRet, st.handler)
	if perr != nil {
		L.SetTop(base)
		return nil, nil, st.classify(ctx, cause(), info, perr)
	}
	n := L.GetTop() - base
	if n > 0 {
		first = L.Get(base + 1)
	}
	if all {
		ret = make([]lua.LValue, n)
		for i := 0; i < n; i++ {
			ret[i] = L.Get(base + 1 + i)
		}
	}
	L.SetTop(base)
	return ret, first, nil
}

// nestedContext is the general (allocating) form of a call's context.
func (st *State) nestedContext(parent context.Context, info *CallInfo) (context.Context, func()) {
	ctx, cancel := context.WithTimeoutCause(context.WithValue(WithCallInfo(parent, info), stateKey{}, st), st.rt.cfg.Timeout, context.DeadlineExceeded)
	b := st.rt.cfg.Brake
	if b == nil {
		return ctx, cancel
	}
	ctx2, cancel2 := context.WithCancelCause(ctx)
	id := b.track(cancel2)
	return ctx2, func() { b.untrack(id); cancel2(nil); cancel() }
}

// classify turns a PCall error into a ScriptError.
func (st *State) classify(ctx context.Context, cause error, info *CallInfo, perr error) error {
	se := &ScriptError{Kind: KindRuntime, Module: info.Module, Callout: info.Callout}
	msg := perr.Error()
	var apiErr *lua.ApiError
	if errors.As(perr, &apiErr) {
		msg = errorObjectString(apiErr.Object)
		if apiErr.Type == lua.ApiErrorPanic {
			// gopher-lua reports a call stack overflow as a Go panic; the
			// State is discarded either way, but it is a script limit.
			st.broken = true
			se.Kind = KindPanic
			se.Stack = apiErr.StackTrace
			if isLimitMessage(msg) {
				se.Kind = KindLimit
			}
		}
	}
	switch {
	case errors.Is(cause, errLimit):
		se.Kind, msg = KindLimit, "memory limit exceeded"
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && se.Kind != KindPanic:
		se.Kind, msg = KindTimeout, fmt.Sprintf("script timeout after %s", st.rt.cfg.Timeout)
	case se.Kind == KindRuntime && isLimitMessage(msg):
		se.Kind = KindLimit
	}
	se.File, se.Line, se.Msg = splitPosition(msg)
	return se
}

// errorObjectString renders error({}), error(nil) and friends readably.
func errorObjectString(v lua.LValue) string {
	switch v := v.(type) {
	case nil:
		return "nil error object"
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	default:
		if v == lua.LNil {
			return "error object is nil"
		}
		return "error object is a " + v.Type().String() + " value"
	}
}

// isLimitMessage recognises errors raised by luamilter's bounded built-ins
// and by gopher-lua's stack limits ("stack overflow" covers "callstack").
func isLimitMessage(msg string) bool {
	for _, s := range []string{"too large", "step limit", "pattern too complex", "registry overflow", "stack overflow"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// aborted reports whether the current call must unwind even through a
// script's pcall: deadline, memory brake, or a resource limit.
func aborted(L *lua.LState, errObj lua.LValue) bool {
	if ctx := L.Context(); ctx != nil && ctx.Err() != nil {
		return true
	}
	if s, ok := errObj.(lua.LString); ok && isLimitMessage(string(s)) {
		return true
	}
	return false
}

// passError is the Go message handler used for every protected call. Using
// a Go function keeps gopher-lua from building a Lua traceback, which for
// a runaway tail call costs seconds and gigabytes.
func passError(L *lua.LState) int {
	L.Push(L.Get(1))
	return 1
}

// callState is the machinery behind the context of a State's calls into
// Lua: one channel, one timer and one watch on the caller's context, all
// reused from call to call. context.WithTimeout per call would allocate
// a timer, two contexts and a channel and register in the caller's list
// of children each time; a callout costs a few microseconds, so that was
// a large part of it. Only the small callContext is allocated per call.
type callState struct {
	owner    *State
	mu       sync.Mutex
	seq      atomic.Uint64 // number of the current or last call
	running  bool          // touched only by the State's own goroutine
	done     chan struct{} // closed when the current call must stop
	closed   bool
	err      error // context.DeadlineExceeded or context.Canceled once closed
	why      error // the cause: deadline, memory limit, caller's cause
	deadline time.Time
	timer    *time.Timer
	watched  <-chan struct{} // Done of the caller context being watched
	unwatch  func() bool
	onBrake  context.CancelCauseFunc
}

// begin starts a call with the given deadline and returns its context.
func (cs *callState) begin(parent context.Context, info *CallInfo, timeout time.Duration) *callContext {
	cs.running = true
	// Watch the new caller before the channel is renewed: a State moves
	// between sessions, and the end of the last one must not stop this call.
	cs.watch(parent)
	cs.mu.Lock()
	if cs.done == nil || cs.closed {
		cs.done = make(chan struct{})
		cs.closed, cs.err, cs.why = false, nil, nil
	}
	cs.deadline = time.Now().Add(timeout)
	seq := cs.seq.Add(1)
	c := &callContext{cs: cs, seq: seq, done: cs.done, deadline: cs.deadline, parent: parent, info: info}
	cs.mu.Unlock()
	if cs.timer == nil {
		cs.timer = time.AfterFunc(timeout, cs.expire)
	} else {
		cs.timer.Reset(timeout)
	}
	if parent.Err() != nil {
		cs.stop(context.Canceled, context.Cause(parent))
	}
	return c
}

// end finishes the call; its context reports itself cancelled from now on.
func (cs *callState) end() {
	cs.timer.Stop()
	cs.mu.Lock()
	cs.running = false
	cs.seq.Add(1)
	cs.mu.Unlock()
}

// watch makes a cancellation of parent stop the call. The registration
// is kept while calls come from the same parent (one session); contexts
// are told apart by their Done channel, which is comparable whatever the
// context's type and the same for contexts that only add values.
func (cs *callState) watch(parent context.Context) {
	done := parent.Done()
	if done == cs.watched {
		return
	}
	if cs.unwatch != nil {
		cs.unwatch()
		cs.unwatch = nil
	}
	cs.mu.Lock()
	cs.watched = done
	cs.mu.Unlock()
	if done == nil { // a caller that can't be cancelled
		return
	}
	cs.unwatch = context.AfterFunc(parent, func() {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if cs.watched == done { // checked and acted on under one lock
			cs.stopLocked(context.Canceled, context.Cause(parent))
		}
	})
}

// release drops the watch on the last caller's context and the timer, for
// a State that will make no more calls.
func (cs *callState) release() {
	if cs.unwatch != nil {
		cs.unwatch()
		cs.unwatch = nil
	}
	cs.mu.Lock()
	cs.watched = nil
	cs.mu.Unlock()
	if cs.timer != nil {
		cs.timer.Stop()
	}
}

// expire is the timer's function. A stale firing (the timer of a call
// that has just ended) is recognised by the deadline not having passed.
func (cs *callState) expire() {
	cs.mu.Lock()
	due := !time.Now().Before(cs.deadline)
	cs.mu.Unlock()
	if due {
		cs.stop(context.DeadlineExceeded, context.DeadlineExceeded)
	}
}

// stop closes the current call's channel, once.
func (cs *callState) stop(err, why error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.stopLocked(err, why)
}

func (cs *callState) stopLocked(err, why error) {
	if cs.closed || cs.done == nil {
		return
	}
	cs.closed, cs.err, cs.why = true, err, why
	close(cs.done)
}

// cause is the reason the current call was stopped, or nil.
func (cs *callState) cause() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.why
}

// brakeCancel is what the memory brake calls to stop the current call.
func (cs *callState) brakeCancel() context.CancelCauseFunc {
	if cs.onBrake == nil {
		cs.onBrake = func(cause error) { cs.stop(context.Canceled, cause) }
	}
	return cs.onBrake
}

// callContext is the context.Context of one call. It stays valid for
// libraries that keep it after the call: it then reports Canceled.
type callContext struct {
	cs       *callState
	seq      uint64
	done     chan struct{}
	deadline time.Time
	parent   context.Context
	info     *CallInfo
}

func (c *callContext) current() bool { return c.cs.seq.Load() == c.seq }

// Deadline implements context.Context.
func (c *callContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context.
func (c *callContext) Done() <-chan struct{} {
	if !c.current() {
		return closedChan
	}
	return c.done
}

// Err implements context.Context.
func (c *callContext) Err() error {
	select {
	case <-c.done:
	default:
		if c.current() {
			return nil
		}
		return context.Canceled
	}
	c.cs.mu.Lock()
	defer c.cs.mu.Unlock()
	if c.current() && c.cs.err != nil {
		return c.cs.err
	}
	return context.Canceled
}

// Value implements context.Context; it carries the CallInfo and the
// State the call runs on.
func (c *callContext) Value(key any) any {
	switch key.(type) {
	case callInfoKey:
		return c.info
	case stateKey:
		return c.cs.owner
	}
	return c.parent.Value(key)
}

// closedChan is what a finished call's context returns from Done.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
