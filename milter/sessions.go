package milter

import (
	"net"
	"sync"
)

// Sessions is the register of the sessions a Server serves: one count
// behind the open-sessions metric, the wait at shutdown and the scripts'
// per-network session counts (accept:inbound_session_count), so they
// can't disagree. A session is in it from the moment it holds a slot;
// its client address is known from the connect event on.
type Sessions struct {
	mu    sync.Mutex
	peers map[uint64]net.IP
}

// NewSessions returns an empty register.
func NewSessions() *Sessions { return &Sessions{peers: map[uint64]net.IP{}} }

func (r *Sessions) open(id uint64) {
	r.mu.Lock()
	r.peers[id] = nil
	r.mu.Unlock()
}

func (r *Sessions) connected(id uint64, ip net.IP) {
	r.mu.Lock()
	if _, ok := r.peers[id]; ok {
		r.peers[id] = ip
	}
	r.mu.Unlock()
}

func (r *Sessions) close(id uint64) {
	r.mu.Lock()
	delete(r.peers, id)
	r.mu.Unlock()
}

// Len is the number of sessions being served.
func (r *Sessions) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.peers)
}

// CountIn is the number of sessions whose client address is in n.
func (r *Sessions) CountIn(n *net.IPNet) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := 0
	for _, ip := range r.peers {
		if ip != nil && n.Contains(ip) {
			c++
		}
	}
	return c
}
