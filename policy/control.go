package policy

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// controlsKey names the table in the Lua registry that maps each console
// command registered with msys.registerControl to its function. It lives
// in the generation's own state, so a reload, which builds a new state,
// replaces the whole set and an old generation's commands go with it.
const controlsKey = "luamilter.controls"

// registerControl implements msys.registerControl(name, fn): fn(cc) runs
// when `luamilter control NAME ARGS...` reaches the control socket, with
// cc.argc counting the words including the name and cc.argv[0] being the
// name, as Momentum's ec_console passes them. Registering again under a
// name replaces the function.
func registerControl(L *lua.LState) int {
	name := L.CheckString(1)
	fn := L.CheckFunction(2)
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		L.ArgError(1, "a command name is one word")
	}
	// Momentum registers controls outside any session; a session's
	// callout registering one would change the shared set mid-traffic,
	// and nothing could tell which session's version is current.
	if host := luart.CallInfoFrom(L.Context()).Host; host != nil {
		if _, ok := host.(*scheduler); !ok {
			L.RaiseError("msys.registerControl(%q): register console commands in the script's main chunk or in init()", name)
		}
	}
	reg := L.G.Registry
	t, ok := reg.RawGetString(controlsKey).(*lua.LTable)
	if !ok {
		t = L.NewTable()
		reg.RawSetString(controlsKey, t)
	}
	t.RawSetString(name, fn)
	L.Push(lua.LTrue)
	return 1
}

// controlNames lists the registered command names, sorted. The caller
// holds the state's lock.
func controlNames(L *lua.LState) []string {
	t, ok := L.G.Registry.RawGetString(controlsKey).(*lua.LTable)
	if !ok {
		return nil
	}
	var names []string
	t.ForEach(func(k, _ lua.LValue) { names = append(names, k.String()) })
	sort.Strings(names)
	return names
}

// Control runs the console command name, registered by the current
// generation's scripts with msys.registerControl, with args. It returns
// what the function printed (Momentum's console shows a control's print
// output) followed by what it returned, one line per print or return,
// values tab-separated as print does. The function runs on the
// generation's scheduler state under its lock, like init and the timers,
// with the script timeout. On a script error the output printed so far
// comes first in the error's text.
func (e *Engine) Control(ctx context.Context, name string, args []string) (string, error) {
	// Holding the generation keeps a reload from retiring (deinit,
	// closing the state) under a command that is still running.
	g := e.hold()
	defer e.drop(g)
	s := g.timers
	s.mu.Lock()
	defer s.mu.Unlock()
	st := g.sched
	if err := st.Enter(ctx); err != nil {
		return "", err
	}
	defer st.Leave()
	L := st.L
	var fn *lua.LFunction
	if t, ok := L.G.Registry.RawGetString(controlsKey).(*lua.LTable); ok {
		fn, _ = t.RawGetString(name).(*lua.LFunction)
	}
	if fn == nil {
		names := controlNames(L)
		if len(names) == 0 {
			return "", fmt.Errorf("unknown control command %q: the scripts register none (msys.registerControl)", name)
		}
		return "", fmt.Errorf("unknown control command %q: the scripts register %s", name, strings.Join(names, ", "))
	}
	argv := L.CreateTable(len(args), 1)
	argv.RawSetInt(0, lua.LString(name))
	for i, a := range args {
		argv.RawSetInt(i+1, lua.LString(a))
	}
	cc := L.CreateTable(0, 2)
	cc.RawSetString("argc", lua.LNumber(len(args)+1))
	cc.RawSetString("argv", argv)

	var out strings.Builder
	host := &controlHost{log: slog.New(&consoleHandler{next: e.log.Handler(), out: &out})}
	ret, err := st.Call(ctx, &luart.CallInfo{Module: "control", Callout: name, Host: host}, fn, cc)
	if err != nil {
		if out.Len() > 0 {
			return "", fmt.Errorf("%s%w", out.String(), err)
		}
		return "", err
	}
	var vals []string
	for _, v := range ret {
		if v != lua.LNil {
			vals = append(vals, v.String())
		}
	}
	if len(vals) > 0 {
		out.WriteString(strings.Join(vals, "\t"))
		out.WriteByte('\n')
	}
	return strings.TrimSuffix(out.String(), "\n"), nil
}

// controlHost is the CallInfo.Host of a control command. luart's print
// writes to the host's Logger, which is how the command's print output
// reaches the console instead of the log.
type controlHost struct{ log *slog.Logger }

// Logger is the logger print and luart's warnings use during the call.
func (h *controlHost) Logger() *slog.Logger { return h.log }

// consoleHandler collects print records (source=print) as console output
// and passes every other record, such as a warning about a mutex left
// locked, on to the daemon's log.
type consoleHandler struct {
	next slog.Handler
	out  *strings.Builder
}

func (h *consoleHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *consoleHandler) Handle(ctx context.Context, r slog.Record) error {
	isPrint := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "source" && a.Value.String() == "print" {
			isPrint = true
			return false
		}
		return true
	})
	if isPrint {
		h.out.WriteString(r.Message)
		h.out.WriteByte('\n')
		return nil
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *consoleHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &consoleHandler{next: h.next.WithAttrs(as), out: h.out}
}

func (h *consoleHandler) WithGroup(name string) slog.Handler {
	return &consoleHandler{next: h.next.WithGroup(name), out: h.out}
}
