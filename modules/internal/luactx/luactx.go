// Package luactx gives the msys libraries the context a Lua call runs
// under.
package luactx

import (
	"context"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// Of returns the context the runtime set on L for the current session,
// or context.Background() when L runs outside one (tests, set-up code),
// so that callers can always pass it on to I/O.
func Of(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// Wait runs f with the call's context and without the generation's Lua
// lock (luart.Blocking): f waits for something outside Lua (the network,
// the counter store, a file), and other sessions run Lua meanwhile. f
// must not touch Lua values; take the arguments before and push the
// results after.
func Wait(L *lua.LState, f func(ctx context.Context)) {
	ctx := Of(L)
	luart.Blocking(L, func() { f(ctx) })
}
