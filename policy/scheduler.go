package policy

import (
	"context"
	"log/slog"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// scheduler is a generation's own Lua thread, the counterpart of
// Momentum's scheduler thread: init and deinit run on it, and so do the
// timers a script creates in init. Timers stop before deinit runs. It
// takes the generation's lock for each call, like any session.
type scheduler struct {
	st      *luart.State
	log     *slog.Logger
	mu      sync.Mutex // one Lua call on st at a time
	started chan struct{}
	stopped chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// Logger implements luart.Host. It is nil: init and the timers log
// through the runtime's logger, as no session is theirs.
func (s *scheduler) Logger() *slog.Logger { return nil }

func newScheduler(st *luart.State, log *slog.Logger) *scheduler {
	return &scheduler{st: st, log: log, started: make(chan struct{}), stopped: make(chan struct{})}
}

// start lets timers fire; called once the generation is in service.
func (s *scheduler) start() {
	select {
	case <-s.started:
	default:
		close(s.started)
	}
}

// stop cancels every timer and waits for one that is running.
func (s *scheduler) stop() {
	s.once.Do(func() { close(s.stopped) })
	s.wg.Wait()
}

// timer is one msys.timer object.
type timer struct {
	sched   *scheduler
	module  string
	name    string
	fn      *lua.LFunction
	first   time.Duration
	every   time.Duration
	mu      sync.Mutex
	cancel  chan struct{}
	running bool
}

func (t *timer) startLoop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running {
		return
	}
	t.running = true
	t.cancel = make(chan struct{})
	cancel := t.cancel
	t.sched.wg.Add(1)
	go func() {
		defer t.sched.wg.Done()
		select { // timers made in init wait until the generation serves
		case <-t.sched.started:
		case <-t.sched.stopped:
			return
		case <-cancel:
			return
		}
		wait := t.first
		for {
			tm := time.NewTimer(wait)
			select {
			case <-tm.C:
			case <-t.sched.stopped:
				tm.Stop()
				return
			case <-cancel:
				tm.Stop()
				return
			}
			t.fire()
			if t.every <= 0 {
				t.mu.Lock()
				t.running = false
				t.mu.Unlock()
				return
			}
			wait = t.every
		}
	}()
}

func (t *timer) fire() {
	s := t.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	info := &luart.CallInfo{Module: t.module, Callout: "timer " + t.name, Host: s}
	if err := s.st.Enter(context.Background()); err != nil {
		return
	}
	defer s.st.Leave()
	if _, err := s.st.Call(context.Background(), info, t.fn); err != nil {
		s.log.Error("timer failed", "module", t.module, "timer", t.name, "err", err)
	}
}

func (t *timer) stopLoop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running {
		close(t.cancel)
		t.running = false
	}
}

// TimerLibrary returns msys.timer: after, at and every. Timers can only
// be created where Momentum's scheduler runs them, in init (or in a timer),
// because a session's Lua state goes back to the pool when it ends.
func TimerLibrary() luart.Library { return luart.Lib("msys.timer", openTimer) }

func openTimer(L *lua.LState, _ *luart.Env) lua.LValue {
	mt := L.CreateTable(0, 3)
	methods := L.CreateTable(0, 3)
	check := func(L *lua.LState) *timer {
		t, ok := L.CheckUserData(1).Value.(*timer)
		if !ok {
			L.ArgError(1, "msys.timer object expected")
		}
		return t
	}
	methods.RawSetString("stop", L.NewFunction(func(L *lua.LState) int { check(L).stopLoop(); return 0 }))
	methods.RawSetString("start", L.NewFunction(func(L *lua.LState) int { check(L).startLoop(); return 0 }))
	methods.RawSetString("name", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString(check(L).name)); return 1 }))
	mt.RawSetString("__index", methods)
	mt.RawSetString("__name", lua.LString("msys.timer"))
	make := func(kind string) lua.LGFunction {
		return func(L *lua.LState) int {
			info := luart.CallInfoFrom(L.Context())
			s, ok := info.Host.(*scheduler)
			if !ok {
				L.RaiseError("msys.timer.%s: timers can only be created in init() or in a timer, where luamilter's scheduler state runs them", kind)
			}
			n := float64(L.CheckNumber(1))
			fn := L.CheckFunction(2)
			t := &timer{sched: s, module: info.Module, name: L.OptString(3, kind), fn: fn}
			switch kind {
			case "after":
				t.first = seconds(n)
			case "at":
				t.first = time.Until(time.Unix(int64(n), 0))
			case "every":
				if n <= 0 {
					L.ArgError(1, "interval must be positive")
				}
				t.first, t.every = seconds(n), seconds(n)
			}
			t.startLoop()
			ud := L.NewUserData()
			ud.Value = t
			ud.Metatable = mt
			L.Push(ud)
			return 1
		}
	}
	lib := L.CreateTable(0, 3)
	for _, kind := range []string{"after", "at", "every"} {
		lib.RawSetString(kind, L.NewFunction(make(kind)))
	}
	return lib
}

func seconds(n float64) time.Duration {
	if n < 0 {
		n = 0
	}
	return time.Duration(n * float64(time.Second))
}
