package luart

import (
	"context"
	"log/slog"
	"net"

	lua "github.com/yuin/gopher-lua"
)

// Library adds one namespace, such as "msys.pcre" or "json", to every Lua
// state. Libraries are opened once per state, before any script runs, and
// their tables are made read-only afterwards so that one session cannot
// change what the next one sees.
type Library interface {
	// Name is the dotted name scripts use with require, e.g. "msys.pcre".
	// A name below "msys." also appears as a field of the global msys table.
	Name() string
	// Open builds the library's table (or other value) for one state.
	Open(L *lua.LState, env *Env) lua.LValue
}

// Lib returns the Library name whose Open is open. A library whose only
// state is what open's closure captures needs no type of its own: its
// definition is one call.
func Lib(name string, open func(L *lua.LState, env *Env) lua.LValue) Library {
	return funcLibrary{name: name, open: open}
}

// Funcs returns the Library name whose table holds fns: the whole
// definition of a library made only of Go functions.
func Funcs(name string, fns map[string]lua.LGFunction) Library {
	return Lib(name, func(L *lua.LState, _ *Env) lua.LValue {
		return L.SetFuncs(L.CreateTable(0, len(fns)), fns)
	})
}

// funcLibrary is the Library Lib returns.
type funcLibrary struct {
	name string
	open func(L *lua.LState, env *Env) lua.LValue
}

func (l funcLibrary) Name() string { return l.name }

func (l funcLibrary) Open(L *lua.LState, env *Env) lua.LValue { return l.open(L, env) }

// Env is what the runtime offers a library when it is opened.
type Env struct {
	// Log is the daemon's logger; libraries add their own attributes.
	Log *slog.Logger
	// Setting returns a luamilter setting by name, for msys.config.
	Setting func(name string) (string, bool)
}

// CallInfo describes the session a call into Lua runs for. Libraries read
// it with CallInfoFrom(L.Context()), for example to default msys.cidr.query
// to the connected peer.
type CallInfo struct {
	Module  string // module name given to msys.registerModule
	Callout string // callout being run, e.g. "validate_rcptto"
	QueueID string // MTA queue id when known
	PeerIP  net.IP // connected SMTP client, nil when unknown
	// Host is the embedding program's object for the session, nil when
	// there is none (loading the scripts). Libraries of that program
	// assert it to their own type; others use only what Host offers.
	Host Host
	// TLS is the session's _TLS table, made on first use. A host that
	// passes the same CallInfo for every call of a session gives its
	// scripts session-local storage, as thrLua's _TLS is.
	TLS *lua.LTable
}

// Host is what the runtime and the libraries may ask of the embedding
// program's object for a call (CallInfo.Host). It is small on purpose:
// luart knows nothing about sessions, and what a host program's own
// libraries need from its own type they get by a type assertion.
type Host interface {
	// Logger is the logger for the call's lines (print output, the
	// runtime's warnings), carrying what identifies the session, such as
	// its id, client and queue id. Nil means the runtime's own logger,
	// tagged with CallInfo.QueueID.
	Logger() *slog.Logger
}

type callInfoKey struct{}

// WithCallInfo returns a context carrying info for the libraries.
func WithCallInfo(ctx context.Context, info *CallInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, info)
}

// CallInfoFrom returns the CallInfo stored in ctx, or an empty one.
func CallInfoFrom(ctx context.Context) *CallInfo {
	if ctx != nil {
		if info, ok := ctx.Value(callInfoKey{}).(*CallInfo); ok {
			return info
		}
	}
	return &CallInfo{}
}
