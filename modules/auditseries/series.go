// Package auditseries implements msys.audit_series (named rolling-window
// counters) and msys.audit (connection, reception and rejection counts the
// milter records per client address), on top of a shared counter store.
//
// A CIDR series keeps one total per tracked prefix length (by default
// /32, /24, /16 and /8 for IPv4; /128, /64, /56, /48 and /32 for IPv6;
// define's masks option changes the list). add updates every tracked
// length; count("ip/24") reads the /24 total; asking for a length the
// series does not track is an error. define's type never carries a mask.
package auditseries

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/modules/store"
)

// Series types accepted by define.
const (
	TypeCIDR   = "cidr"
	TypeCIDR6  = "cidr_ipv6"
	TypeString = "string"
)

const libName = "msys.audit_series"

// Options configures a Library.
type Options struct {
	// Store holds the counts; it may be shared with other libraries.
	Store *store.Shared
	// Log receives diagnostics; slog.Default() when nil.
	Log *slog.Logger
}

// Library is the msys.audit_series luart.Library. Its definitions are
// shared by every Lua state it is opened in.
type Library struct {
	st  *store.Shared
	log *slog.Logger

	mu   sync.RWMutex
	defs map[string]*series
}

// series is one define'd audit series.
type series struct {
	name  string
	typ   string
	win   store.Window
	masks []int // tracked prefix lengths, ascending; nil for string series
}

// New returns an audit_series library with no series defined.
func New(opts Options) *Library {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	return &Library{st: opts.Store, log: log, defs: make(map[string]*series)}
}

// Name implements luart.Library.
func (l *Library) Name() string { return libName }

// Open implements luart.Library.
func (l *Library) Open(L *lua.LState, _ *luart.Env) lua.LValue {
	t := L.NewTable()
	t.RawSetString("define", L.NewFunction(l.luaDefine))
	t.RawSetString("add", L.NewFunction(l.luaAdd))
	t.RawSetString("count", L.NewFunction(l.luaCount))
	t.RawSetString("remove_item", L.NewFunction(l.luaRemove))
	return t
}

// Define records a series; re-defining a name replaces it, so init may run
// on every reload.
func (l *Library) Define(name, typ string, interval time.Duration, windows int, masks []int) error {
	s := &series{name: name, typ: typ, win: store.Window{Interval: interval, Windows: windows}}
	if err := s.win.Validate(); err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	var err error
	switch typ {
	case TypeCIDR:
		if masks == nil {
			masks = defaultMasks4
		}
		s.masks, err = normMasks(masks, 32)
	case TypeCIDR6:
		if masks == nil {
			masks = defaultMasks6
		}
		s.masks, err = normMasks(masks, 128)
	case TypeString:
	default:
		err = fmt.Errorf("type %q: want cidr, cidr_ipv6 or string", typ)
	}
	if err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	l.mu.Lock()
	l.defs[name] = s
	l.mu.Unlock()
	return nil
}

func (l *Library) lookup(name string) (*series, error) {
	l.mu.RLock()
	s := l.defs[name]
	l.mu.RUnlock()
	if s == nil {
		return nil, fmt.Errorf("series %q is not defined", name)
	}
	return s, nil
}

// storeName keeps script series apart from the milter's own audit series.
func (s *series) storeName() string { return "as:" + s.name }

// resolve turns a key string into the address of a CIDR series. ok is
// false, with no error, when the key is the connected peer and its address
// family is not the series'.
func (s *series) resolve(ctx context.Context, key string, peer bool) (a addr, ok bool, err error) {
	a, err = parseAddr(key, luart.CallInfoFrom(ctx).PeerIP)
	if err != nil {
		return a, false, err
	}
	if a.isV6() != (s.typ == TypeCIDR6) {
		if peer {
			return a, false, nil
		}
		return a, false, fmt.Errorf("key %q does not belong to %s series %s", key, s.typ, s.name)
	}
	return a, true, nil
}
