// Package dns provides msys.dnsLookup, the DNS query function Momentum
// policy scripts use for MX checks, reverse lookups and DNS block lists.
//
// One Resolver is shared by every Lua state of the daemon. It talks to the
// configured name servers with github.com/miekg/dns and keeps a bounded,
// TTL-driven answer cache so that repeated RBL queries for the same client
// do not reach the network.
//
// Lua contract: msys.dnsLookup(name[, type[, {priority=, server=}]])
// returns a 1-based table of strings (MX as {pref, host} pairs with
// priority=true, always sorted by preference) or nil plus a status:
// "NXDOMAIN", "NODATA" (the name exists but has no record of that type;
// nil rather than an empty table so that `if msys.dnsLookup(q) then`
// RBL checks cannot misfire), "SERVFAIL", "REFUSED", "timeout",
// "BADNAME" (malformed name, often from untrusted HELO or MAIL FROM
// data, so it is not raised) or "canceled". The type is case-insensitive;
// an unknown type, a non-string argument or a malformed server raises a
// Lua error.
package dns

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/luamilter/luamilter/luart"
)

// Defaults used when the corresponding Options field is zero.
const (
	DefaultTimeout        = 5 * time.Second
	DefaultCacheSize      = 10000
	DefaultMaxTTL         = time.Hour
	DefaultMaxNegativeTTL = 5 * time.Minute
	DefaultResolvConf     = "/etc/resolv.conf"
)

// Options configures a Resolver.
type Options struct {
	// Servers lists name servers as "ip" or "ip:port" (the --dns-server
	// flag). When empty the nameserver lines of ResolvConf are used.
	Servers []string
	// ResolvConf is read when Servers is empty; DefaultResolvConf if "".
	ResolvConf string
	// Timeout bounds one msys.dnsLookup call, all servers and retries
	// included; DefaultTimeout if zero. A call from a callout also ends
	// in time for the script to answer before its deadline (see
	// lookupBudget), whichever comes first.
	Timeout time.Duration
	// CacheSize is the maximum number of cached answers; DefaultCacheSize
	// if zero, caching disabled if negative.
	CacheSize int
	// MaxTTL caps how long a positive answer is cached.
	MaxTTL time.Duration
	// MaxNegativeTTL caps how long NXDOMAIN/NODATA answers are cached.
	MaxNegativeTTL time.Duration
	// Log receives debug messages; slog.Default() if nil.
	Log *slog.Logger
}

// Resolver answers DNS queries for all Lua states. It is safe for
// concurrent use and implements luart.Library with the name "msys", so its
// dnsLookup function is merged into the global msys table.
type Resolver struct {
	servers []string // "ip:port"
	timeout time.Duration
	maxTTL  time.Duration
	maxNeg  time.Duration
	cache   *cache
	flight  flight
	log     *slog.Logger
}

var _ luart.Library = (*Resolver)(nil)

// New returns a Resolver configured by opts. It fails when no name server
// is configured or a server address is malformed.
func New(opts Options) (*Resolver, error) {
	r := &Resolver{
		timeout: opts.Timeout,
		maxTTL:  opts.MaxTTL,
		maxNeg:  opts.MaxNegativeTTL,
		log:     opts.Log,
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.maxTTL <= 0 {
		r.maxTTL = DefaultMaxTTL
	}
	if r.maxNeg <= 0 {
		r.maxNeg = DefaultMaxNegativeTTL
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	size := opts.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	if size > 0 {
		r.cache = newCache(size)
	}
	servers := opts.Servers
	if len(servers) == 0 {
		path := opts.ResolvConf
		if path == "" {
			path = DefaultResolvConf
		}
		conf, err := mdns.ClientConfigFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("dns: read %s: %w", path, err)
		}
		for _, s := range conf.Servers {
			servers = append(servers, net.JoinHostPort(s, conf.Port))
		}
		if len(servers) == 0 {
			return nil, fmt.Errorf("dns: no nameserver in %s", path)
		}
	}
	for _, s := range servers {
		addr, err := ParseServer(s)
		if err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
		r.servers = append(r.servers, addr)
	}
	return r, nil
}

// ParseServer turns "ip" or "ip:port" (IPv6 as "[ip]:port") into the
// "ip:port" form used on the wire; port 53 is the default.
func ParseServer(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	return "", fmt.Errorf("invalid name server %q (want ip or ip:port)", s)
}

// Name implements luart.Library.
func (r *Resolver) Name() string { return "msys" }
