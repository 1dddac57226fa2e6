package policy

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/luamilter/luamilter/internal/netspec"
)

// liveSessions tracks the peers of open sessions for
// accept:inbound_session_count.
type liveSessions struct {
	mu    sync.Mutex
	peers map[uint64]net.IP
}

func (l *liveSessions) add(id uint64, ip net.IP) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.peers == nil {
		l.peers = map[uint64]net.IP{}
	}
	l.peers[id] = ip
}

func (l *liveSessions) remove(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.peers, id)
}

// count returns how many open sessions come from the network spec
// ("/24", "addr/mask", "addr") around peer.
func (l *liveSessions) count(peer net.IP, spec string) (int, error) {
	full := spec
	if strings.HasPrefix(spec, "/") {
		if peer == nil {
			return 0, nil
		}
		full = peer.String() + spec
	}
	network, err := netspec.Parse(full)
	if err != nil {
		if full != spec {
			return 0, fmt.Errorf("bad CIDR mask %q", spec)
		}
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ip := range l.peers {
		if ip != nil && network.Contains(ip) {
			n++
		}
	}
	return n, nil
}
