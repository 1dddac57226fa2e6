package dns

import (
	"context"
	"errors"

	mdns "github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
)

// Open implements luart.Library: the returned table holds dnsLookup and
// is merged into the global msys table by the runtime.
func (r *Resolver) Open(L *lua.LState, _ *luart.Env) lua.LValue {
	t := L.NewTable()
	t.RawSetString("dnsLookup", L.NewFunction(r.luaLookup))
	return t
}

// luaLookup implements msys.dnsLookup(name[, type[, {priority, server}]]).
// DNS failures are returned as nil plus a status string; script mistakes
// (wrong argument types, unknown record type, bad server) raise errors.
func (r *Resolver) luaLookup(L *lua.LState) int {
	name := stringArg(L, 1, "name")
	typ := "A"
	if L.Get(2) != lua.LNil {
		typ = stringArg(L, 2, "type")
	}
	qtype, ok := ParseType(typ)
	if !ok {
		L.RaiseError("msys.dnsLookup: unsupported type '%s'", typ)
	}
	priority, server := false, ""
	switch opts := L.Get(3).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		priority = lua.LVAsBool(opts.RawGetString("priority"))
		switch s := opts.RawGetString("server").(type) {
		case *lua.LNilType:
		case lua.LString:
			addr, err := ParseServer(string(s))
			if err != nil {
				L.RaiseError("msys.dnsLookup: %v", err)
			}
			server = addr
		default:
			L.RaiseError("msys.dnsLookup: options.server must be a string, got %s", s.Type())
		}
	default:
		L.RaiseError("msys.dnsLookup: bad argument #3 (table expected, got %s)", opts.Type())
	}

	var recs []Record
	var err error
	luactx.Wait(L, func(ctx context.Context) { recs, err = r.Lookup(ctx, name, qtype, server) })
	if err != nil {
		status := StatusSERVFAIL
		var le *LookupError
		if errors.As(err, &le) {
			status = le.Status
		}
		r.log.Debug("dns lookup failed", "name", name, "type", typ, "error", err)
		L.Push(lua.LNil)
		L.Push(lua.LString(status))
		return 2
	}
	res := L.CreateTable(len(recs), 0)
	for _, rec := range recs {
		if priority && qtype == mdns.TypeMX {
			pair := L.CreateTable(2, 0)
			pair.Append(lua.LNumber(rec.Pref))
			pair.Append(lua.LString(rec.Value))
			res.Append(pair)
			continue
		}
		res.Append(lua.LString(rec.Value))
	}
	L.Push(res)
	return 1
}

// stringArg returns argument n, which must be a Lua string.
func stringArg(L *lua.LState, n int, what string) string {
	v := L.Get(n)
	s, ok := v.(lua.LString)
	if !ok {
		L.RaiseError("msys.dnsLookup: bad argument #%d %s (string expected, got %s)", n, what, v.Type())
	}
	return string(s)
}
