package policy

import (
	"fmt"
	"net"
	"strings"
	"sync"
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
	var network *net.IPNet
	switch {
	case strings.HasPrefix(spec, "/"):
		if peer == nil {
			return 0, nil
		}
		_, n, err := net.ParseCIDR(peer.String() + spec)
		if err != nil {
			return 0, fmt.Errorf("bad CIDR mask %q", spec)
		}
		network = n
	case strings.Contains(spec, "/"):
		_, n, err := net.ParseCIDR(spec)
		if err != nil {
			return 0, fmt.Errorf("bad CIDR %q", spec)
		}
		network = n
	default:
		ip := net.ParseIP(spec)
		if ip == nil {
			return 0, fmt.Errorf("bad address %q", spec)
		}
		bits := 128
		if ip.To4() != nil {
			bits = 32
		}
		network = &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}
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
