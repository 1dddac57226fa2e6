package cidr

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// refresher reloads tables whose refresh interval has passed and whose
// source changed, until Close.
func (l *Library) refresher() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.CheckInterval)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-l.stop; cancel() }()
	for {
		select {
		case <-l.stop:
			return
		case now := <-tick.C:
			l.refreshDue(ctx, now)
		}
	}
}

func (l *Library) refreshDue(ctx context.Context, now time.Time) {
	l.mu.RLock()
	due := map[string]*named{}
	for name, n := range l.tables {
		if n.def.Refresh > 0 && n.loadMu.TryLock() {
			if !now.Before(n.nextCheck) {
				due[name] = n
			}
			n.loadMu.Unlock()
		}
	}
	l.mu.RUnlock()
	for name, n := range due {
		if ctx.Err() != nil {
			return
		}
		if v, ok := n.src.(Versioner); ok {
			version, err := v.Version(ctx)
			if err == nil && version == n.currentVersion() {
				n.postpone(now)
				continue
			}
		}
		if err := l.load(ctx, name, n); err != nil {
			l.log.Error("cidr: refresh failed, keeping old data", "table", name, "error", err)
			n.postpone(now)
		} else {
			l.log.Info("cidr: reloaded", "table", name, "entries", n.cur.Load().entries)
		}
	}
}

func (n *named) currentVersion() string {
	n.loadMu.Lock()
	defer n.loadMu.Unlock()
	return n.version
}

func (n *named) postpone(now time.Time) {
	n.loadMu.Lock()
	n.nextCheck = now.Add(n.def.Refresh)
	n.loadMu.Unlock()
}

// interpolate replaces "$" in v with the address, as rbldnsd does in TXT
// templates.
func interpolate(v string, addr netip.Addr) string {
	if !strings.Contains(v, "$") {
		return v
	}
	return strings.ReplaceAll(v, "$", addr.Unmap().String())
}
