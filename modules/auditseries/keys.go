package auditseries

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Default prefix lengths a CIDR series keeps totals for. Every add updates
// one counter per tracked length, so a count for "ip/24" is a single read.
var (
	defaultMasks4 = []int{32, 24, 16, 8}
	defaultMasks6 = []int{128, 64, 56, 48, 32}
)

// addr is a parsed CIDR key: an address and the prefix length of interest
// (the full length when none was given).
type addr struct {
	ip     net.IP // 4 bytes for IPv4, 16 for IPv6
	mask   int
	masked bool // an explicit /mask was given
}

// parseAddr reads "ip", "ip/mask", "[v6]", "ip:port" or "/mask"; peer
// stands in for a missing address.
func parseAddr(s string, peer net.IP) (addr, error) {
	s = strings.TrimSpace(s)
	host, maskStr, hasMask := strings.Cut(s, "/")
	var ip net.IP
	if host == "" {
		if peer == nil {
			return addr{}, fmt.Errorf("key %q has no address and the connected peer is unknown", s)
		}
		ip = peer
	} else {
		ip = parseHost(host)
		if ip == nil {
			return addr{}, fmt.Errorf("key %q is not an IP address", s)
		}
	}
	a := addr{ip: canon(ip)}
	a.mask = len(a.ip) * 8
	if hasMask {
		m, err := strconv.Atoi(maskStr)
		if err != nil || m < 0 || m > a.mask {
			return addr{}, fmt.Errorf("key %q has a bad mask", s)
		}
		a.mask, a.masked = m, true
	}
	return a, nil
}

// parseHost accepts a bare address, a bracketed IPv6 address, or either
// with a port as tostring(ac.remote_addr) renders it.
func parseHost(s string) net.IP {
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
		return ip
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return net.ParseIP(h)
	}
	return nil
}

func canon(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip.To16()
}

// prefix renders the network of a at mask m, e.g. "192.0.2.0/24".
func (a addr) prefix(m int) string {
	n := a.ip.Mask(net.CIDRMask(m, len(a.ip)*8))
	return n.String() + "/" + strconv.Itoa(m)
}

// isV6 reports whether a belongs to a cidr_ipv6 series.
func (a addr) isV6() bool { return len(a.ip) == net.IPv6len }

// luaAddr turns a Lua key into an address string: strings and numbers as
// they are, an accept construct (or any table/userdata) by its remote_ip
// field or else its remote_addr field; nil and objects without either mean
// the connected peer (""). peer reports that the address is the client's
// own rather than one the script named, so a family mismatch is not the
// script's fault.
func luaAddr(L *lua.LState, v lua.LValue) (key string, peer bool, err error) {
	switch v := v.(type) {
	case *lua.LNilType:
		return "", true, nil
	case lua.LString:
		return string(v), strings.HasPrefix(strings.TrimSpace(string(v)), "/"), nil
	case lua.LNumber:
		return v.String(), false, nil
	case *lua.LTable, *lua.LUserData:
		for _, f := range []string{"remote_ip", "remote_addr"} {
			if fv := field(L, v, f); fv != lua.LNil {
				return L.ToStringMeta(fv).String(), true, nil
			}
		}
		return "", true, nil
	default:
		return "", false, fmt.Errorf("key must be a string, address or accept construct, got %s", v.Type())
	}
}

// field reads obj[name] through __index, without letting a failing
// metamethod escape.
func field(L *lua.LState, obj lua.LValue, name string) (out lua.LValue) {
	out = lua.LNil
	if t, ok := obj.(*lua.LTable); ok {
		return t.RawGetString(name)
	}
	fn := L.NewFunction(func(L *lua.LState) int {
		L.Push(L.GetField(L.Get(1), name))
		return 1
	})
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, obj); err == nil {
		out = L.Get(-1)
		L.Pop(1)
	}
	return out
}

// normMasks validates a define-time masks list for a family of bits.
func normMasks(ms []int, bits int) ([]int, error) {
	out := []int{bits}
	for _, m := range ms {
		if m < 0 || m > bits {
			return nil, fmt.Errorf("mask /%d out of range 0..%d", m, bits)
		}
		out = append(out, m)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
