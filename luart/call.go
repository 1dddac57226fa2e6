package luart

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// errLimit marks a call stopped by the memory brake.
var errLimit = errors.New("memory limit exceeded")

// Call runs fn with args under the runtime's deadline, the memory brake
// and panic isolation. It is the only way luamilter calls into Lua.
func (st *State) Call(ctx context.Context, info *CallInfo, fn *lua.LFunction, args ...lua.LValue) ([]lua.LValue, error) {
	return st.call(ctx, info, fn, args...)
}

func (st *State) call(parent context.Context, info *CallInfo, fn *lua.LFunction, args ...lua.LValue) (ret []lua.LValue, err error) {
	if st.broken {
		return nil, &ScriptError{Kind: KindPanic, Module: info.Module, Callout: info.Callout, Msg: "state was discarded after a panic"}
	}
	ctx, cancel := context.WithTimeoutCause(WithCallInfo(parent, info), st.rt.cfg.Timeout, context.DeadlineExceeded)
	defer cancel()
	if b := st.rt.cfg.Brake; b != nil {
		ctx2, cancel2 := context.WithCancelCause(ctx)
		defer cancel2(nil)
		untrack := b.track(cancel2)
		defer untrack()
		ctx = ctx2
	}
	L := st.L
	prevInfo := st.info
	st.info = info
	L.SetContext(ctx)
	defer func() {
		L.RemoveContext()
		st.info = prevInfo
		if r := recover(); r != nil {
			st.broken = true
			ret, err = nil, &ScriptError{Kind: KindPanic, Module: info.Module, Callout: info.Callout,
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
		return nil, st.classify(ctx, info, perr)
	}
	n := L.GetTop() - base
	ret = make([]lua.LValue, n)
	for i := 0; i < n; i++ {
		ret[i] = L.Get(base + 1 + i)
	}
	L.SetTop(base)
	return ret, nil
}

// classify turns a PCall error into a ScriptError.
func (st *State) classify(ctx context.Context, info *CallInfo, perr error) error {
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
	switch cause := context.Cause(ctx); {
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

// isLimitMessage recognises errors raised by luamilter's bounded built-ins.
func isLimitMessage(msg string) bool {
	for _, s := range []string{"too large", "step limit", "pattern too complex", "registry overflow", "stack overflow", "callstack overflow"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// aborted reports whether the current call must unwind even through a
// script's pcall: deadline, memory brake, or a resource limit.
func (st *State) aborted(L *lua.LState, errObj lua.LValue) bool {
	if ctx := L.Context(); ctx != nil && ctx.Err() != nil {
		return true
	}
	if s, ok := errObj.(lua.LString); ok && isLimitMessage(string(s)) {
		return true
	}
	return false
}

// handler is the Go message handler used for every protected call. Using
// a Go function keeps gopher-lua from building a Lua traceback, which for
// a runaway tail call costs seconds and gigabytes.
func passError(L *lua.LState) int {
	L.Push(L.Get(1))
	return 1
}
