package cidr

import (
	"context"
	"net/netip"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
)

// Open implements luart.Library: the table holds define, query and reload.
func (l *Library) Open(L *lua.LState, _ *luart.Env) lua.LValue {
	return L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"define": l.luaDefine,
		"query":  l.luaQuery,
		"reload": l.luaReload,
	})
}

// luaDefine implements msys.cidr.define(name, options) → true. options
// may also be just the type name, as in Momentum.
func (l *Library) luaDefine(L *lua.LState) int {
	name := stringArg(L, "define", 1, "name")
	def := Definition{Refresh: DefaultRefresh}
	switch o := L.Get(2).(type) {
	case lua.LString:
		def.Type = string(o)
	case *lua.LTable:
		def.Type = optString(L, o, "type")
		def.Source = optString(L, o, "source")
		def.Value = optString(L, o, "value")
		def.CacheName = optString(L, o, "cachename")
		def.Query = optString(L, o, "query")
		def.CIDRColumn = optString(L, o, "cidr_column")
		def.ValueColumn = optString(L, o, "value_column")
		def.Interpolate = lua.LVAsBool(o.RawGetString("interpolate"))
		switch r := o.RawGetString("refresh").(type) {
		case *lua.LNilType:
		case lua.LNumber:
			if r < 0 {
				L.RaiseError("msys.cidr.define: refresh must not be negative")
			}
			def.Refresh = time.Duration(float64(r) * float64(time.Second))
		default:
			L.RaiseError("msys.cidr.define: refresh must be a number of seconds, got %s", r.Type())
		}
		switch d := o.RawGetString("default_value").(type) {
		case *lua.LNilType, lua.LString, lua.LNumber, lua.LBool:
			def.Default = d
		default:
			L.RaiseError("msys.cidr.define: default_value must be a string, number or boolean, got %s", d.Type())
		}
	default:
		L.RaiseError("msys.cidr.define: bad argument #2 options (table expected, got %s)", o.Type())
	}
	if def.Type == "" {
		L.RaiseError("msys.cidr.define: options.type is required")
	}
	var err error
	luactx.Wait(L, func(ctx context.Context) { err = l.Define(ctx, name, def) })
	if err != nil {
		L.RaiseError("msys.cidr.define: %v", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// luaQuery implements msys.cidr.query(name[, address]) → value or the
// table's default_value. Without an address the session's peer is used.
func (l *Library) luaQuery(L *lua.LState) int {
	name := stringArg(L, "query", 1, "name")
	var addr netip.Addr
	switch a := L.Get(2).(type) {
	case *lua.LNilType:
		if ip := luart.CallInfoFrom(L.Context()).PeerIP; ip != nil {
			addr, _ = netip.AddrFromSlice(ip)
		}
	case lua.LString:
		var ok bool
		if addr, ok = parseQueryAddr(string(a)); !ok {
			L.RaiseError("msys.cidr.query: invalid address '%s'", string(a))
		}
	default:
		L.RaiseError("msys.cidr.query: bad argument #2 address (string expected, got %s)", a.Type())
	}
	n, err := l.get(name)
	if err != nil {
		L.RaiseError("msys.cidr.query: %v", err)
	}
	if addr.IsValid() {
		if v, ok := n.query(addr); ok {
			L.Push(lua.LString(v))
			return 1
		}
	}
	if n.def.Default == nil {
		L.Push(lua.LNil)
	} else {
		L.Push(n.def.Default)
	}
	return 1
}

// parseQueryAddr accepts "ip", "ip:port" and "[ip]:port", the forms
// tostring(ac.remote_addr) and friends produce.
func parseQueryAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

// luaReload implements msys.cidr.reload(name) → true, or false plus the
// error when the source cannot be read (the old data stays in use).
func (l *Library) luaReload(L *lua.LState) int {
	name := stringArg(L, "reload", 1, "name")
	n, err := l.get(name)
	if err != nil {
		L.RaiseError("msys.cidr.reload: %v", err)
	}
	luactx.Wait(L, func(ctx context.Context) { err = l.load(ctx, name, n) })
	if err != nil {
		L.Push(lua.LFalse)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(lua.LTrue)
	return 1
}

func stringArg(L *lua.LState, fn string, n int, what string) string {
	v := L.Get(n)
	s, ok := v.(lua.LString)
	if !ok {
		L.RaiseError("msys.cidr.%s: bad argument #%d %s (string expected, got %s)", fn, n, what, v.Type())
	}
	return string(s)
}

// optString reads an optional string option; numbers are accepted and
// converted, as column ordinals may be given as numbers.
func optString(L *lua.LState, t *lua.LTable, key string) string {
	switch v := t.RawGetString(key).(type) {
	case *lua.LNilType:
		return ""
	case lua.LString, lua.LNumber:
		return v.String()
	default:
		L.RaiseError("msys.cidr.define: options.%s must be a string, got %s", key, v.Type())
	}
	return ""
}
