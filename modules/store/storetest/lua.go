package storetest

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/luatest"
	"github.com/luamilter/luamilter/luart"
)

// Clock is a settable time source for store.Config.Now.
type Clock struct{ ns atomic.Int64 }

// NewClock starts a Clock at a fixed instant.
func NewClock() *Clock {
	c := &Clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// NewState opens libs into a fresh Lua state the way the runtime does
// (msys.audit_series becomes the global msys.audit_series) and sets the
// connected peer to peer.
func NewState(t testing.TB, peer string, libs ...luart.Library) *lua.LState {
	t.Helper()
	L := luatest.NewState(t, libs...)
	L.SetContext(luart.WithCallInfo(context.Background(), &luart.CallInfo{PeerIP: net.ParseIP(peer)}))
	return L
}

// Eval runs "return <expr>" and renders the results joined by spaces.
func Eval(L *lua.LState, expr string) (string, error) {
	return luatest.Eval(L, expr)
}

// Step is one line of a Lua scenario: Lua evaluates to Want, or fails with
// an error containing Err.
type Step struct {
	Lua  string
	Want string
	Err  string
}

// Run evaluates steps in order in L.
func Run(t testing.TB, L *lua.LState, steps []Step) {
	t.Helper()
	for i, st := range steps {
		got, err := Eval(L, st.Lua)
		switch {
		case st.Err != "" && (err == nil || !strings.Contains(err.Error(), st.Err)):
			t.Fatalf("step %d %s: err = %v, want one containing %q", i, st.Lua, err, st.Err)
		case st.Err == "" && err != nil:
			t.Fatalf("step %d %s: %v", i, st.Lua, err)
		case st.Err == "" && got != st.Want:
			t.Fatalf("step %d %s = %q, want %q", i, st.Lua, got, st.Want)
		}
	}
}
