// Package luactx gives the msys libraries the context a Lua call runs
// under.
package luactx

import (
	"context"

	lua "github.com/yuin/gopher-lua"
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
