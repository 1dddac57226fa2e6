package policy

import (
	"log/slog"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// coreContextSet implements msys.core.ec_message_context_set(msg, scope,
// key, value). Like Momentum's it returns 1 when it stored the pair and
// 0 when key or value is nil or the dictionary already held that pair.
func coreContextSet(L *lua.LState) int {
	m := checkMessage(L, "ec_message_context_set", false)
	d := m.s.dict(L, 2)
	if L.Get(3) == lua.LNil || L.Get(4) == lua.LNil {
		L.Push(lua.LNumber(0))
		return 1
	}
	key, value := L.CheckString(3), luaString(L, 4)
	if old, ok := d[key]; ok && old == value {
		L.Push(lua.LNumber(0))
		return 1
	}
	d[key] = value
	L.Push(lua.LNumber(1))
	return 1
}

// bindings answers Momentum's binding lookups. Bindings choose the IP
// a message leaves from, which is the MTA's business behind a milter, so
// luamilter answers as a Momentum whose configuration names every binding
// a script asks about: "default" is 0, any other name gets the next id
// the first time it is seen (ids stay fixed for the daemon's life, across
// reloads), and a binding group has one member. An empty name is no
// binding (id -1, group size 0). The scripts' choice has
// no effect; that is logged once per name.
type bindings struct {
	mu     sync.Mutex
	ids    map[string]int
	names  []string // names[id]
	logged map[string]bool
}

// processBindings is shared by every generation, so a binding keeps its
// id across reloads as it would in one Momentum configuration.
var processBindings = newBindings()

func newBindings() *bindings {
	return &bindings{ids: map[string]int{"default": 0}, names: []string{"default"}, logged: map[string]bool{}}
}

// id returns name's binding id, assigning one on first use, and whether
// this is the first time name is asked about.
func (b *bindings) id(name string) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id, ok := b.ids[name]
	if !ok {
		id = len(b.names)
		b.ids[name] = id
		b.names = append(b.names, name)
	}
	first := !b.logged[name]
	b.logged[name] = true
	return id, first
}

// name returns the binding name of id, or false for an id never given out.
func (b *bindings) name(id int) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id < 0 || id >= len(b.names) {
		return "", false
	}
	return b.names[id], true
}

// register adds the config_get_binding_* functions to msys.core.
func (b *bindings) register(L *lua.LState, core *lua.LTable, log *slog.Logger) {
	noop := func(L *lua.LState, fn, name string, id int) {
		l := log
		if s, ok := luart.CallInfoFrom(L.Context()).Host.(*session); ok {
			l = s.modLog(s.info.Module)
		}
		l.Warn("bindings have no milter equivalent: the MTA chooses the outgoing address; answering as if the configuration named this binding",
			"function", "msys.core."+fn, "binding", name, "id", id)
	}
	core.RawSetString("config_get_binding_id_from_name", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		if name == "" { // no configuration can name it: Momentum's "no such binding"
			L.Push(lua.LNumber(-1))
			return 1
		}
		id, first := b.id(name)
		if first {
			noop(L, "config_get_binding_id_from_name", name, id)
		}
		L.Push(lua.LNumber(id))
		return 1
	}))
	core.RawSetString("config_get_binding_name_from_id", L.NewFunction(func(L *lua.LState) int {
		if name, ok := b.name(L.CheckInt(1)); ok {
			L.Push(lua.LString(name))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	}))
	core.RawSetString("config_get_binding_group_size", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		if name == "" {
			L.Push(lua.LNumber(0))
			return 1
		}
		if id, first := b.id(name); first {
			noop(L, "config_get_binding_group_size", name, id)
		}
		L.Push(lua.LNumber(1))
		return 1
	}))
}
