// Package netspec reads the network specifications luamilter's settings
// and scripts write: a CIDR such as "192.0.2.0/24" or a single address,
// which stands for its host network. relay_networks and
// accept:inbound_session_count share it so that one spec means the same
// network in both. msys.cidr tables accept more (rbldnsd's short forms,
// ranges) and keep their own parser.
package netspec

import (
	"fmt"
	"net"
	"strings"
)

// Parse reads one network. A bare address is a single host (/32 or
// /128).
func Parse(s string) (*net.IPNet, error) {
	if !strings.Contains(s, "/") {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("invalid address %q", s)
		}
		bits := 8 * net.IPv6len
		if v4 := ip.To4(); v4 != nil {
			ip, bits = v4, 8*net.IPv4len
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("invalid CIDR %q", s)
	}
	return n, nil
}

// ParseList reads every spec of a list, such as relay_networks; the
// error names the first one that is not a network.
func ParseList(specs []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range specs {
		n, err := Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
