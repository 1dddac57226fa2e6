package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Status strings returned to Lua as the second result of a failed
// msys.dnsLookup. Scripts compare against "NXDOMAIN" in particular.
const (
	StatusNXDOMAIN = "NXDOMAIN" // the name does not exist
	StatusNODATA   = "NODATA"   // the name exists but has no record of the type
	StatusSERVFAIL = "SERVFAIL" // the server failed or no server could be reached
	StatusTimeout  = "timeout"  // no answer within the timeout
	StatusBadName  = "BADNAME"  // the name is not a valid domain name
	StatusCanceled = "canceled" // the session went away during the lookup
)

// types maps the record type names msys.dnsLookup accepts (in any case)
// to their wire values.
var types = map[string]uint16{
	"A": mdns.TypeA, "AAAA": mdns.TypeAAAA, "TXT": mdns.TypeTXT,
	"MX": mdns.TypeMX, "PTR": mdns.TypePTR, "NS": mdns.TypeNS,
}

// ParseType returns the wire type for a record type name such as "mx".
func ParseType(name string) (uint16, bool) {
	t, ok := types[strings.ToUpper(name)]
	return t, ok
}

// Record is one answer record: an address, a host name (without the
// trailing dot) or the concatenated strings of a TXT record. Pref is the
// MX preference and zero for other types.
type Record struct {
	Pref  uint16
	Value string
}

// LookupError is a DNS-level failure; Status is one of the Status*
// constants or an RCODE name such as "REFUSED".
type LookupError struct {
	Status string
	Err    error // underlying network error, if any
}

// Error describes the failed lookup.
func (e *LookupError) Error() string {
	if e.Err != nil {
		return e.Status + ": " + e.Err.Error()
	}
	return e.Status
}

// Unwrap returns the underlying network or protocol error, if any.
func (e *LookupError) Unwrap() error { return e.Err }

// Lookup resolves name for qtype (one of the types ParseType knows). For
// PTR an IP address is turned into its reverse name. server, when not
// empty, replaces the configured servers ("ip:port"). Answers come from
// the cache when possible; MX records are sorted by preference.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16, server string) ([]Record, error) {
	qname, err := queryName(name, qtype)
	if err != nil {
		return nil, err
	}
	key := strconv.Itoa(int(qtype)) + "/" + qname + "/" + server
	if r.cache != nil {
		if e, ok := r.cache.get(key, time.Now()); ok {
			return e.result()
		}
	}
	servers := r.servers
	if server != "" {
		servers = []string{server}
	}
	limit := lookupBudget(ctx, r.timeout, time.Now())
	if limit <= 0 {
		return nil, &LookupError{Status: StatusTimeout, Err: context.DeadlineExceeded}
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	resolve := func() ([]Record, error) { return r.resolve(ctx, key, qname, qtype, servers) }
	recs, err := r.flight.do(ctx, key, resolve)
	var le *LookupError
	if errors.As(err, &le) && le.Status == StatusCanceled && ctx.Err() == nil {
		// The session that led a shared query went away; ask ourselves.
		recs, err = resolve()
	}
	return recs, err
}

// MinScriptMargin is the least time a lookup leaves the calling script
// before the script's own deadline.
const MinScriptMargin = 100 * time.Millisecond

// lookupBudget is how long one lookup may take: the resolver's timeout,
// but no more than what is left of the caller's deadline (the callout's
// --script-timeout) minus a margin of a tenth of it, at least
// MinScriptMargin. A lookup that ran into the callout's deadline would
// leave the script no time to act on the failure: its own reply (a 451
// after a failed RBL query, say) would be replaced by the generic
// timeout reply, or not, depending on which fired first. Bounded, the
// lookup times out first and returns "timeout" to the script.
func lookupBudget(ctx context.Context, timeout time.Duration, now time.Time) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return timeout
	}
	left := d.Sub(now)
	return min(timeout, left-max(left/10, MinScriptMargin))
}

// resolve queries the servers and caches the answer.
func (r *Resolver) resolve(ctx context.Context, key, qname string, qtype uint16, servers []string) ([]Record, error) {
	msg, err := r.exchange(ctx, qname, qtype, servers)
	if err != nil {
		return nil, err
	}
	e := r.toEntry(msg, qtype)
	if r.cache != nil && e.ttl > 0 {
		r.cache.put(key, e, time.Now())
	}
	return e.result()
}

// ctxError turns an ended context into the matching LookupError.
func ctxError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return &LookupError{Status: StatusCanceled, Err: ctx.Err()}
	}
	return &LookupError{Status: StatusTimeout, Err: ctx.Err()}
}

// queryName validates name and returns it fully qualified and lower case.
func queryName(name string, qtype uint16) (string, error) {
	if qtype == mdns.TypePTR {
		if ip, err := netip.ParseAddr(name); err == nil {
			arpa, err := mdns.ReverseAddr(ip.Unmap().String())
			if err != nil {
				return "", &LookupError{Status: StatusBadName, Err: err}
			}
			return arpa, nil
		}
	}
	q := mdns.Fqdn(strings.ToLower(name))
	if _, ok := mdns.IsDomainName(q); !ok || name == "" || len(q) > 254 {
		return "", &LookupError{Status: StatusBadName, Err: fmt.Errorf("invalid domain name %q", name)}
	}
	return q, nil
}

// exchange asks the servers in turn until one gives a usable answer
// (NOERROR or NXDOMAIN). Every server gets at least one try and the
// remaining time is shared among the tries left.
func (r *Resolver) exchange(ctx context.Context, qname string, qtype uint16, servers []string) (*mdns.Msg, error) {
	q := new(mdns.Msg)
	q.SetQuestion(qname, qtype)
	q.SetEdns0(1232, false)
	tries := max(2, len(servers))
	var last error
	for i := range tries {
		if ctx.Err() != nil {
			break
		}
		per := time.Until(deadline(ctx)) / time.Duration(tries-i)
		tctx, cancel := context.WithTimeout(ctx, per)
		msg, err := exchangeOne(tctx, q, servers[i%len(servers)])
		cancel()
		if err != nil {
			last = err
			continue
		}
		switch msg.Rcode {
		case mdns.RcodeSuccess, mdns.RcodeNameError:
			return msg, nil
		default:
			last = &LookupError{Status: rcodeName(msg.Rcode)}
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil, ctxError(ctx)
	}
	var le *LookupError
	if errors.As(last, &le) {
		return nil, le
	}
	var ne net.Error
	if last == nil || errors.As(last, &ne) && ne.Timeout() || ctx.Err() != nil {
		return nil, &LookupError{Status: StatusTimeout, Err: last}
	}
	return nil, &LookupError{Status: StatusSERVFAIL, Err: last}
}

// exchangeOne sends q to one server over UDP, retrying over TCP when the
// answer is truncated. The miekg client only honours context deadlines,
// so cancellation is turned into an immediate connection deadline here.
func exchangeOne(ctx context.Context, q *mdns.Msg, server string) (*mdns.Msg, error) {
	var msg *mdns.Msg
	for _, network := range []string{"udp", "tcp"} {
		c := &mdns.Client{Net: network}
		conn, err := c.DialContext(ctx, server)
		if err != nil {
			return nil, err
		}
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
		msg, _, err = c.ExchangeWithConnContext(ctx, q, conn)
		stop()
		conn.Close()
		if err != nil {
			return nil, err
		}
		if !msg.Truncated {
			break
		}
	}
	return msg, nil
}

func deadline(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(DefaultTimeout)
	}
	return d
}

func rcodeName(rc int) string {
	if s, ok := mdns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// toEntry converts a NOERROR or NXDOMAIN answer into a cache entry whose
// ttl follows the records (positive) or the SOA minimum (negative, RFC
// 2308). Negative answers without SOA get ttl 0 and are not cached.
func (r *Resolver) toEntry(msg *mdns.Msg, qtype uint16) *entry {
	e := &entry{}
	if msg.Rcode == mdns.RcodeNameError {
		e.status = StatusNXDOMAIN
	}
	var minTTL uint32 = 1<<32 - 1
	for _, rr := range msg.Answer {
		if rr.Header().Rrtype != qtype {
			continue // CNAMEs leading to the records
		}
		minTTL = min(minTTL, rr.Header().Ttl)
		e.records = append(e.records, toRecord(rr))
	}
	if e.status == "" && len(e.records) == 0 {
		e.status = StatusNODATA
	}
	if e.status == "" {
		if qtype == mdns.TypeMX {
			slices.SortStableFunc(e.records, func(a, b Record) int { return int(a.Pref) - int(b.Pref) })
		}
		e.ttl = min(time.Duration(minTTL)*time.Second, r.maxTTL)
		return e
	}
	for _, rr := range msg.Ns {
		if soa, ok := rr.(*mdns.SOA); ok {
			e.ttl = min(time.Duration(min(soa.Hdr.Ttl, soa.Minttl))*time.Second, r.maxNeg)
		}
	}
	return e
}

func toRecord(rr mdns.RR) Record {
	switch v := rr.(type) {
	case *mdns.A:
		return Record{Value: v.A.String()}
	case *mdns.AAAA:
		return Record{Value: v.AAAA.String()}
	case *mdns.TXT:
		return Record{Value: unescapeTXT(strings.Join(v.Txt, ""))}
	case *mdns.MX:
		return Record{Pref: v.Preference, Value: hostName(v.Mx)}
	case *mdns.PTR:
		return Record{Value: hostName(v.Ptr)}
	case *mdns.NS:
		return Record{Value: hostName(v.Ns)}
	}
	return Record{Value: rr.String()}
}

func hostName(s string) string {
	if len(s) > 1 {
		return strings.TrimSuffix(s, ".")
	}
	return s
}

// unescapeTXT undoes the presentation escaping miekg/dns applies to
// character-strings when unpacking (\" \\ and \DDD), so scripts see the
// bytes the zone holds.
func unescapeTXT(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n < 256 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
