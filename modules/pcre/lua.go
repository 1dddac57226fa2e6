package pcre

import (
	"errors"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
	lua "github.com/yuin/gopher-lua"
)

// MatchTable matches pattern against subject and builds the msys.pcre.match
// result table: LNil when nothing matches. Compile errors are *CompileError.
// The search also ends, with ErrTimeout, when the context of the Lua call
// on L (the callout's deadline) ends.
func (e *Engine) MatchTable(L *lua.LState, subject, pattern string) (lua.LValue, error) {
	g, err := e.MatchContext(luactx.Of(L), subject, pattern)
	if err != nil || g == nil {
		return lua.LNil, err
	}
	t := L.CreateTable(len(g.Text), 2)
	for i, text := range g.Text {
		var v lua.LValue = lua.LFalse
		if g.Matched[i] {
			v = lua.LString(text)
		}
		t.RawSetInt(i, v)
		// With duplicate names, (?J), the name gets the first group of
		// that name that took part, as pcre2_substring_get_byname does.
		if name := g.Names[i]; name != "" {
			if old := t.RawGetString(name); old == lua.LNil || old == lua.LFalse {
				t.RawSetString(name, v)
			}
		}
	}
	return t, nil
}

// New returns the msys.pcre library with its own Engine.
func New(opts Options) luart.Library { return NewLibrary(NewEngine(opts)) }

// NewLibrary returns the msys.pcre library using a shared Engine, so that
// msg:body_match and msys.pcre.match share one pattern cache.
func NewLibrary(e *Engine) luart.Library {
	l := &binding{engine: e}
	return luart.Funcs("msys.pcre", map[string]lua.LGFunction{"match": l.match, "replace": l.replace, "split": l.split})
}

// binding is msys.pcre's functions, all running on one Engine.
type binding struct {
	engine *Engine
}

// failed pushes nil, errstr, errnum for compile errors and raises others.
func failed(L *lua.LState, err error) int {
	var ce *CompileError
	if errors.As(err, &ce) {
		L.Push(lua.LNil)
		L.Push(lua.LString(ce.Error()))
		L.Push(lua.LNumber(ce.Code))
		return 3
	}
	L.RaiseError("%s", err.Error())
	return 0
}

func (l *binding) match(L *lua.LState) int {
	subject, pattern := L.CheckString(1), L.CheckString(2)
	v, err := l.engine.MatchTable(L, subject, pattern)
	if err != nil {
		return failed(L, err)
	}
	L.Push(v)
	return 1
}

func (l *binding) split(L *lua.LState) int {
	subject, pattern := L.CheckString(1), L.CheckString(2)
	parts, err := l.engine.SplitContext(luactx.Of(L), subject, pattern)
	if err != nil {
		return failed(L, err)
	}
	t := L.CreateTable(len(parts), 0)
	for _, p := range parts {
		t.Append(lua.LString(p))
	}
	L.Push(t)
	return 1
}

func (l *binding) replace(L *lua.LState) int {
	subject, pattern, repl := L.CheckString(1), L.CheckString(2), L.CheckString(3)
	out, _, err := l.engine.ReplaceContext(luactx.Of(L), subject, pattern, repl)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(lua.LString(out))
	return 1
}
