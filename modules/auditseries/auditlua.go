package auditseries

import (
	"context"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
)

const auditLib = "msys.audit"

// NewAuditLibrary returns msys.audit backed by a.
func NewAuditLibrary(a *Audit) luart.Library {
	l := &auditBinding{a: a}
	return luart.Lib(auditLib, l.open)
}

// auditBinding is msys.audit's functions, all reading one Audit.
type auditBinding struct{ a *Audit }

func (l *auditBinding) open(L *lua.LState, _ *luart.Env) lua.LValue {
	t := L.NewTable()
	for _, kind := range []string{Connections, Receptions, Rejections} {
		t.RawSetString(kind, L.NewFunction(l.counter(kind)))
	}
	t.RawSetString("inbound_session_count", L.NewFunction(l.luaSessions))
	return t
}

// counter implements connections/receptions/rejections(monitor[, opts]);
// opts is {cidr, startv, endv, cluster} or the cidr itself. cluster is
// accepted and ignored: a shared store already gives cluster-wide counts.
func (l *auditBinding) counter(kind string) lua.LGFunction {
	return func(L *lua.LState) int {
		monitor := L.CheckString(1)
		opt := L.Get(2)
		cidr := lua.LValue(opt)
		if t, ok := opt.(*lua.LTable); ok {
			cidr = t.RawGetString("cidr")
		}
		var c string
		switch v := cidr.(type) {
		case *lua.LNilType:
		case lua.LString:
			c = string(v)
		default:
			L.RaiseError("%s.%s: cidr must be a string, got %s", auditLib, kind, v.Type())
		}
		startv, endv := windowRange(L, kind, opt)
		var n int64
		var err error
		luactx.Wait(L, func(ctx context.Context) {
			n, err = l.a.Count(ctx, kind, monitor, c, luart.CallInfoFrom(ctx).PeerIP, startv, endv)
		})
		l.check(L, err)
		L.Push(lua.LNumber(n))
		return 1
	}
}

// luaSessions implements inbound_session_count(cidr[, service]). Only
// SMTP sessions pass through the milter; other services count 0.
func (l *auditBinding) luaSessions(L *lua.LState) int {
	cidr := L.OptString(1, "")
	service := L.OptString(2, "SMTP")
	var n int64
	if strings.EqualFold(service, "SMTP") {
		var err error
		luactx.Wait(L, func(ctx context.Context) {
			n, err = l.a.InboundSessionCount(ctx, luart.CallInfoFrom(ctx).PeerIP, cidr)
		})
		l.check(L, err)
	}
	L.Push(lua.LNumber(n))
	return 1
}

func (l *auditBinding) check(L *lua.LState, err error) {
	if err == nil {
		return
	}
	if err = l.a.st.Check(auditLib, err); err != nil {
		L.RaiseError("%s", err.Error())
	}
}
