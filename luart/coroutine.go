package luart

import (
	"slices"

	lua "github.com/yuin/gopher-lua"
)

// maxCoroutineNesting bounds how many coroutines may run resumed one
// inside another, as Lua 5.1's C stack limit (200 levels) does. Each
// level is a gopher-lua thread with its own call stack and a stretch of
// Go stack, so the call stack limit does not see them: unbounded,
// `local function f() return coroutine.wrap(f)() end` nested hundreds of
// thousands deep and then took many seconds past the deadline to unwind.
const maxCoroutineNesting = 200

// coroutineOverflow is the error past maxCoroutineNesting. It contains
// "stack overflow", so like a deep recursion it is a resource limit that
// neither pcall nor coroutine.resume can swallow.
const coroutineOverflow = "C stack overflow: coroutines nested more than 200 deep"

// installCoroutines replaces coroutine.create, resume and wrap so that a
// coroutine runs under the deadline of the call that resumes it and
// counts against maxCoroutineNesting.
//
// gopher-lua gives a new thread a context.WithCancel of its creator's
// context, which for the State's reusable call context costs a goroutine
// per coroutine until that State's next timeout, and which is over once
// the creating call ends. Threads are therefore created without a context
// and get the resuming call's context at each resume.
func (st *State) installCoroutines() {
	L := st.L
	co, ok := L.G.Global.RawGetString("coroutine").(*lua.LTable)
	if !ok {
		return
	}
	create, ok1 := co.RawGetString("create").(*lua.LFunction)
	resume, ok2 := co.RawGetString("resume").(*lua.LFunction)
	if !ok1 || !ok2 {
		return
	}
	st.coCreate, st.coResume = create.GFunction, resume.GFunction
	co.RawSetString("create", L.NewFunction(st.createCoroutine))
	co.RawSetString("resume", L.NewFunction(st.resumeCoroutine))
	co.RawSetString("wrap", L.NewFunction(st.wrapCoroutine))
}

// createCoroutine is coroutine.create, without a context of its own.
func (st *State) createCoroutine(L *lua.LState) int {
	L.CheckFunction(1)
	if ctx := L.RemoveContext(); ctx != nil {
		defer L.SetContext(ctx)
	}
	return st.coCreate(L)
}

// resumeCoroutine is coroutine.resume: gopher-lua's, run under the
// caller's context, refused past maxCoroutineNesting or for a coroutine
// that is itself resuming another (gopher-lua would run it again), and
// raising again what ended the call (deadline, brake, limit) instead of
// returning it.
func (st *State) resumeCoroutine(L *lua.LState) int {
	cur := st.rt.threadOf(L)
	th := L.CheckThread(1)
	if th != L && slices.Contains(cur.coActive, th) {
		L.Push(lua.LFalse)
		L.Push(lua.LString("cannot resume normal coroutine"))
		return 2
	}
	if len(cur.coActive) >= maxCoroutineNesting {
		L.RaiseError(coroutineOverflow)
	}
	if ctx := L.Context(); ctx != nil {
		th.SetContext(ctx)
	}
	cur.coActive = append(cur.coActive, th)
	defer func() { cur.coActive = cur.coActive[:len(cur.coActive)-1] }()
	n := st.coResume(L)
	if n >= 2 && L.Get(-n) == lua.LFalse {
		if obj := L.Get(-n + 1); aborted(L, obj) {
			L.Error(obj, 0)
		}
	}
	return n
}

// wrapCoroutine is coroutine.wrap on top of createCoroutine and
// resumeCoroutine (gopher-lua's wrap calls its own resume directly).
func (st *State) wrapCoroutine(L *lua.LState) int {
	st.createCoroutine(L)
	th := L.Get(-1)
	L.Pop(1)
	L.Push(L.NewClosure(st.resumeWrapped, th))
	return 1
}

// resumeWrapped is the function coroutine.wrap returns: it resumes its
// coroutine and returns what it yields or returns, or raises its error.
func (st *State) resumeWrapped(L *lua.LState) int {
	L.Insert(L.Get(lua.UpvalueIndex(1)), 1)
	n := st.resumeCoroutine(L)
	if L.Get(-n) == lua.LFalse {
		L.Error(L.Get(-n+1), 0)
	}
	L.Remove(-n)
	return n - 1
}
