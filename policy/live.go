package policy

import (
	"fmt"
	"net"
	"strings"

	"github.com/luamilter/luamilter/internal/netspec"
)

// SessionCounter counts the sessions being served whose client is in a
// network: the milter server's register (milter.Sessions), so scripts
// and the daemon's metrics count the same sessions.
type SessionCounter interface {
	CountIn(n *net.IPNet) int
}

// countSessions returns how many open sessions come from the network
// spec ("/24", "addr/mask", "addr") around peer.
func (e *Engine) countSessions(peer net.IP, spec string) (int, error) {
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
	if e.cfg.Sessions == nil {
		return 0, nil
	}
	return e.cfg.Sessions.CountIn(network), nil
}
