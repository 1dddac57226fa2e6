// Package idn implements the msys.idn Lua library:
//
//	ascii, err = msys.idn.to_idn(name)   -- "bücher.example" -> "xn--bcher-kva.example"
//	utf8, err  = msys.idn.to_utf8(name)  -- and back
//
// Conversion follows UTS #46 non-transitional processing with lookup
// mapping (golang.org/x/net/idna), so names are also case-folded, but with
// STD3 rules off: underscores (as in "_dmarc") and other ASCII that DNS
// allows in labels pass through. The Momentum reference says "an error is
// returned" on failure; here that is nil plus a message, so scripts can
// test the result. A non-string argument raises a Lua error.
package idn

import (
	"github.com/luamilter/luamilter/luart"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/net/idna"
)

// New returns the msys.idn library.
func New() luart.Library {
	p := idna.New(
		idna.MapForLookup(),
		idna.BidiRule(),
		idna.Transitional(false),
		idna.StrictDomainName(false), // after MapForLookup, which turns it on
	)
	return luart.Funcs("msys.idn", map[string]lua.LGFunction{
		"to_idn":  convert("to_idn", p.ToASCII),
		"to_utf8": convert("to_utf8", p.ToUnicode),
	})
}

func convert(fn string, conv func(string) (string, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		out, err := conv(L.CheckString(1))
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("msys.idn." + fn + ": " + err.Error()))
			return 2
		}
		L.Push(lua.LString(out))
		return 1
	}
}
