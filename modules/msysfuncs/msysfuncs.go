// Package msysfuncs provides the functions Momentum keeps directly in the
// msys table. Its Library is named "msys", so the runtime merges these
// fields into the global msys table:
//
//	msys.type(v)                        -- type name; userdata: metatable __name
//	msys.parseRFC2822Addresses(s[, c])  -- array of address components
//	msys.readfile(path)                 -- contents, or nil, error
//	msys.sleep(seconds)                 -- pause the calling session
//
// msys.type returns Lua's type name, except for userdata whose metatable
// has a string __name field, where it returns that name (for example
// "ec_message").
//
// msys.parseRFC2822Addresses parses an address list (the value of a To: or
// From: header) and returns one entry per address: component "all"
// (default) is local@domain, "localpart" the part before the last "@",
// "user" and "detail" the localpart split at its first "+" (detail is ""
// when there is none) and "domain" the part after the "@". Lists that
// net/mail rejects, such as display names with unbalanced quotes, are
// split on commas outside quotes and angle brackets instead and each piece
// contributes the text in <...> or, failing that, the piece itself when it
// contains an "@". An unknown component raises a Lua error.
// ParseAddressComponents exposes the same parser to Go (msg:address_header).
//
// msys.readfile reads a whole file. Only files below Options.ReadDirs can be
// read: the path is made absolute, cleaned and has its symlinks resolved
// before the check, and the file is then opened through an os.Root of the
// allowed directory, so a symlink swapped in later can not lead outside
// either. Only regular files are read: a FIFO, device or socket ("not a
// regular file") could block past the script's deadline, so its mode is
// checked before it is opened and again once it is open (without
// blocking). A "file://" prefix is accepted; other URI schemes, paths
// outside the allowed directories ("permission denied: ..."), missing
// files, directories, other files that are not regular and files larger
// than Options.MaxFileSize return nil and a message.
//
// msys.sleep waits for the given number of seconds, or less if the
// context of the Lua state (L.Context(), set by the runtime per session)
// ends first, in which case it raises a Lua error.
package msysfuncs

import (
	"context"
	"math"
	"time"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/internal/luactx"
	lua "github.com/yuin/gopher-lua"
)

// DefaultMaxFileSize bounds msys.readfile when Options.MaxFileSize is 0.
const DefaultMaxFileSize = 16 << 20

// Options configure the msys functions.
type Options struct {
	// ReadDirs are the directories msys.readfile may read below.
	ReadDirs []string
	// MaxFileSize is the largest file msys.readfile returns, in bytes.
	MaxFileSize int64
}

// New returns the library. It is named "msys": the runtime merges its
// functions into the global msys table.
func New(opts Options) luart.Library {
	r := newReader(opts)
	return luart.Funcs("msys", map[string]lua.LGFunction{
		"type":                  luaType,
		"parseRFC2822Addresses": luaParseAddresses,
		"readfile":              r.luaReadFile,
		"sleep":                 luaSleep,
	})
}

func luaType(L *lua.LState) int {
	v := L.CheckAny(1)
	if ud, ok := v.(*lua.LUserData); ok {
		if mt, ok := ud.Metatable.(*lua.LTable); ok {
			if name, ok := mt.RawGetString("__name").(lua.LString); ok && name != "" {
				L.Push(name)
				return 1
			}
		}
	}
	L.Push(lua.LString(v.Type().String()))
	return 1
}

func luaParseAddresses(L *lua.LState) int {
	parts, err := ParseAddressComponents(L.CheckString(1), L.OptString(2, "all"))
	if err != nil {
		L.RaiseError("msys.parseRFC2822Addresses: %s", err.Error())
	}
	t := L.CreateTable(len(parts), 0)
	for _, p := range parts {
		t.Append(lua.LString(p))
	}
	L.Push(t)
	return 1
}

func luaSleep(L *lua.LState) int {
	secs := float64(L.CheckNumber(1))
	if math.IsNaN(secs) || math.IsInf(secs, 0) {
		L.ArgError(1, "finite number of seconds expected")
	}
	if secs <= 0 {
		return 0
	}
	timer := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer timer.Stop()
	var err error
	luactx.Wait(L, func(ctx context.Context) {
		select {
		case <-timer.C:
		case <-ctx.Done():
			err = ctx.Err()
		}
	})
	if err != nil {
		L.RaiseError("msys.sleep: interrupted: %v", err)
	}
	return 0
}
