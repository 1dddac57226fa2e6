package auditseries

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/luamilter/luamilter/modules/store"
)

// Event kinds the milter records per client address.
const (
	Connections = "connections"
	Receptions  = "receptions"
	Rejections  = "rejections"
)

// DefaultMonitors is used when NewAudit gets no monitors.
var DefaultMonitors = []string{"60,1"}

// sessionTTL bounds how long a live-session gauge outlives its last
// change, so sessions of a crashed instance do not count forever.
const sessionTTL = time.Hour

// Audit records what the milter sees of each client address in the
// configured monitors ("interval,windows" strings, as Momentum's
// inbound_audit module names them), and the sessions currently open.
// The runtime calls its Go methods; msys.audit reads it.
type Audit struct {
	st       *store.Shared
	monitors map[string]store.Window
	order    []string
	// series names the store series of each event kind, in monitor
	// order, so counting an event builds no names.
	series map[string][]string
	keys   keyCache
}

// keyCache remembers the store keys of the client addresses seen last:
// every message of a session, and the sessions of a busy client, count
// under the same ones.
type keyCache struct {
	mu sync.Mutex
	m  map[[net.IPv6len]byte][]string
}

// keyCacheSize bounds the addresses remembered; the cache starts over
// when it is full.
const keyCacheSize = 4096

// get returns the keys of ip, working them out on a miss. The slice is
// shared: callers only read it.
func (c *keyCache) get(ip net.IP) ([]string, error) {
	var k [net.IPv6len]byte
	copy(k[:], ip.To16())
	c.mu.Lock()
	keys, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return keys, nil
	}
	keys, err := prefixes(ip)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheSize {
		c.m = make(map[[net.IPv6len]byte][]string)
	}
	c.m[k] = keys
	c.mu.Unlock()
	return keys, nil
}

// NewAudit parses monitors such as "60,1" or "300,12".
func NewAudit(st *store.Shared, monitors []string) (*Audit, error) {
	if len(monitors) == 0 {
		monitors = DefaultMonitors
	}
	a := &Audit{st: st, monitors: make(map[string]store.Window)}
	for _, m := range monitors {
		w, err := parseMonitor(m)
		if err != nil {
			return nil, err
		}
		key := monitorName(w)
		if _, dup := a.monitors[key]; !dup {
			a.order = append(a.order, key)
		}
		a.monitors[key] = w
	}
	a.series = make(map[string][]string)
	for _, kind := range []string{Connections, Receptions, Rejections} {
		a.series[kind] = a.seriesOf(kind)
	}
	return a, nil
}

// seriesOf names the store series of kind, in monitor order.
func (a *Audit) seriesOf(kind string) []string {
	names := make([]string, len(a.order))
	for i, name := range a.order {
		names[i] = "audit:" + kind + ":" + name
	}
	return names
}

func parseMonitor(m string) (store.Window, error) {
	iv, nw, ok := strings.Cut(strings.TrimSpace(m), ",")
	i, err1 := strconv.Atoi(strings.TrimSpace(iv))
	n, err2 := strconv.Atoi(strings.TrimSpace(nw))
	w := store.Window{Interval: time.Duration(i) * time.Second, Windows: n}
	if !ok || err1 != nil || err2 != nil {
		return w, fmt.Errorf("audit monitor %q: want \"interval_seconds,windows\"", m)
	}
	if err := w.Validate(); err != nil {
		return w, fmt.Errorf("audit monitor %q: %w", m, err)
	}
	return w, nil
}

func monitorName(w store.Window) string {
	return strconv.Itoa(int(w.Interval/time.Second)) + "," + strconv.Itoa(w.Windows)
}

// prefixes returns the store keys an event from ip updates.
func prefixes(ip net.IP) ([]string, error) {
	if ip == nil {
		return nil, fmt.Errorf("no client address")
	}
	ad := addr{ip: canon(ip)}
	masks := defaultMasks4
	if ad.isV6() {
		masks = defaultMasks6
	}
	keys := make([]string, len(masks))
	for i, m := range masks {
		keys[i] = ad.prefix(m)
	}
	return keys, nil
}

// keysOf returns the store keys an event from ip updates.
func (a *Audit) keysOf(ip net.IP) ([]string, error) {
	if ip == nil {
		return prefixes(ip) // the error
	}
	return a.keys.get(ip)
}

// record counts one event of kind from ip in every monitor.
func (a *Audit) record(ctx context.Context, kind string, ip net.IP) error {
	keys, err := a.keysOf(ip)
	if err != nil {
		return fmt.Errorf("audit %s: %w", kind, err)
	}
	return a.add(ctx, kind, keys)
}

// add counts one event of kind under keys, the prefixes of its address.
func (a *Audit) add(ctx context.Context, kind string, keys []string) error {
	names, ok := a.series[kind]
	if !ok {
		names = a.seriesOf(kind)
	}
	for i, name := range a.order {
		series, w := names[i], a.monitors[name]
		for _, k := range keys {
			if err := a.st.AddWindowed(ctx, series, k, 1, w); err != nil {
				return fmt.Errorf("audit %s: %w", kind, err)
			}
		}
	}
	return nil
}

// Connection records a new SMTP session from ip and counts it as open
// until Disconnect.
func (a *Audit) Connection(ctx context.Context, ip net.IP) error {
	keys, err := a.keysOf(ip)
	if err != nil {
		return fmt.Errorf("audit %s: %w", Connections, err)
	}
	if err := a.add(ctx, Connections, keys); err != nil {
		return err
	}
	return a.session(ctx, keys, 1)
}

// Disconnect ends a session Connection opened.
func (a *Audit) Disconnect(ctx context.Context, ip net.IP) error {
	keys, err := a.keysOf(ip)
	if err != nil {
		return fmt.Errorf("audit session: %w", err)
	}
	return a.session(ctx, keys, -1)
}

// Reception records a message accepted from ip.
func (a *Audit) Reception(ctx context.Context, ip net.IP) error {
	return a.record(ctx, Receptions, ip)
}

// Rejection records a message or recipient rejected from ip.
func (a *Audit) Rejection(ctx context.Context, ip net.IP) error {
	return a.record(ctx, Rejections, ip)
}

// session moves the open-session gauges of keys by delta.
func (a *Audit) session(ctx context.Context, keys []string, delta int64) error {
	for _, k := range keys {
		if _, err := a.st.GaugeAdd(ctx, "audit:sessions", k, delta, store.Gauge{TTL: sessionTTL}); err != nil {
			return fmt.Errorf("audit session: %w", err)
		}
	}
	return nil
}

// lookupKey resolves a cidr argument ("", "/24", "addr", "addr/mask")
// against peer to a store key tracked by the audit.
func lookupKey(cidr string, peer net.IP) (string, error) {
	ad, err := parseAddr(cidr, peer)
	if err != nil {
		return "", err
	}
	masks := defaultMasks4
	if ad.isV6() {
		masks = defaultMasks6
	}
	if slices.Contains(masks, ad.mask) {
		return ad.prefix(ad.mask), nil
	}
	return "", fmt.Errorf("cidr %q: mask /%d is not tracked (tracked: %v)", cidr, ad.mask, masks)
}

// Count returns the events of kind (Connections, Receptions or
// Rejections) in monitor for cidr, summed over windows startv..endv.
func (a *Audit) Count(ctx context.Context, kind, monitor, cidr string, peer net.IP, startv, endv int) (int64, error) {
	w, ok := a.monitors[monitor]
	if !ok {
		if pw, err := parseMonitor(monitor); err == nil {
			w, ok = a.monitors[monitorName(pw)]
			monitor = monitorName(pw)
		}
	}
	if !ok {
		return 0, fmt.Errorf("audit monitor %q is not configured (have %v)", monitor, a.order)
	}
	k, err := lookupKey(cidr, peer)
	if err != nil {
		return 0, err
	}
	return a.st.CountWindowed(ctx, "audit:"+kind+":"+monitor, k, w, startv, endv)
}

// InboundSessionCount returns the sessions open now from cidr ("/24",
// "/32", "addr" or "addr/mask"; an empty or mask-only cidr means peer).
func (a *Audit) InboundSessionCount(ctx context.Context, peer net.IP, cidr string) (int64, error) {
	k, err := lookupKey(cidr, peer)
	if err != nil {
		return 0, err
	}
	return a.st.GaugeGet(ctx, "audit:sessions", k)
}
