package policy

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/internal/lru"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/txn"
)

// macroExpander implements msys.expandMacro(s): every %{namespace:key} in
// s is replaced by its value, "%%" by "%". Namespaces:
//
//	vctx_conn:KEY, vctx_mess:KEY   the session's context dictionaries
//	rfc822:date                    the current date, Date header style
//	rfc2822:message[,N|,Nb]        whole message, or its first N lines/bytes
//	rfc2822:headers                the header block
//	rfc2822:body[,N|,Nb]           the body, or its first N lines/bytes
//	rfc2822:text                   the first text part, decoded to UTF-8
//	rfc2822:part,N                 the N-th leaf part (1-based, .thread
//	                               order), with its header, as received
//	rfc2822:text,N[,M]             the N-th text part with its header, as
//	                               received; with M its first M lines, UTF-8
//	spfv1:X                        an SPF macro letter (s l o d i p v h c t)
//	                               with RFC 7208 transformers (digits, r,
//	                               delimiters); upper case URL-escapes
//
// A bare SPF letter (%{i}) is taken as spfv1. rfc2822 expansions end with
// CRLF and are empty before the message content has arrived (before
// validate_data). Unknown macros expand to "" and are logged once per name
// (a name evicted from the bounded record of logged ones is logged again).
type macroExpander struct {
	// warned holds the unknown macro names already logged. It is bounded:
	// scripts expand text that comes from mail, so the names are not.
	warned *lru.Cache[string, struct{}]
}

// warnedNames bounds macroExpander.warned; a name dropped from it is
// logged again the next time it is seen.
const warnedNames = 1024

func newMacroExpander() *macroExpander {
	return &macroExpander{warned: lru.New[string, struct{}](warnedNames)}
}

// function returns msys.expandMacro for one state; log is used outside
// sessions (at load time).
func (x *macroExpander) function(log *slog.Logger) lua.LGFunction {
	return func(L *lua.LState) int {
		in := L.CheckString(1)
		s, _ := luart.CallInfoFrom(L.Context()).Host.(*session)
		L.Push(lua.LString(x.expand(s, in, log)))
		return 1
	}
}

// expand replaces the macros in in, for session s (nil outside one).
func (x *macroExpander) expand(s *session, in string, log *slog.Logger) string {
	if !strings.Contains(in, "%") {
		return in
	}
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '%' || i+1 >= len(in) {
			b.WriteByte(c)
			continue
		}
		switch in[i+1] {
		case '%':
			b.WriteByte('%')
			i++
			continue
		case '{':
			end := strings.IndexByte(in[i+2:], '}')
			if end < 0 {
				b.WriteString(in[i:])
				return b.String()
			}
			b.WriteString(x.one(s, in[i+2:i+2+end], log))
			i += 2 + end
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// one expands the inside of one %{...}.
func (x *macroExpander) one(s *session, macro string, log *slog.Logger) string {
	ns, key, found := strings.Cut(macro, ":")
	if !found {
		if v, ok := spfMacro(s, macro); ok {
			return v
		}
		return x.unknown(s, macro, log)
	}
	switch strings.ToLower(ns) {
	case "vctx_conn":
		if s != nil {
			return s.conn[key]
		}
		return ""
	case "vctx_mess":
		if s != nil {
			return s.mess[key]
		}
		return ""
	case "rfc822":
		if strings.EqualFold(key, "date") {
			return time.Now().Format(time.RFC1123Z)
		}
	case "rfc2822":
		if v, ok := rfc2822Macro(s, key); ok {
			return v
		}
	case "spfv1":
		if v, ok := spfMacro(s, key); ok {
			return v
		}
	}
	return x.unknown(s, macro, log)
}

func (x *macroExpander) unknown(s *session, macro string, log *slog.Logger) string {
	if _, seen := x.warned.Get(macro); !seen {
		x.warned.Put(macro, struct{}{})
		if s != nil {
			log = s.logger()
		}
		if log == nil {
			log = slog.Default()
		}
		log.Warn("msys.expandMacro: unknown macro expands to an empty string", "macro", "%{"+macro+"}")
	}
	return ""
}

// rfc2822Macro expands the message macros; ok is false for unknown keys.
func rfc2822Macro(s *session, key string) (string, bool) {
	args := strings.Split(key, ",")
	name := strings.ToLower(strings.TrimSpace(args[0]))
	switch name {
	case "message", "headers", "body", "text", "part":
	default:
		return "", false
	}
	if s == nil || s.msg == nil || !s.msg.Content {
		return "", true
	}
	m := s.msg
	var out string
	var err error
	switch name {
	case "headers":
		out = m.HeaderBlock()
	case "message", "body":
		if name == "message" {
			out, err = m.raw()
		} else {
			out, err = m.CurrentBody()
		}
		if err == nil && len(args) > 1 {
			out, err = limitLines(out, args[1])
		}
	case "text", "part":
		out, err = partMacro(m, name, args[1:])
	}
	if err != nil {
		s.logger().Warn("msys.expandMacro", "macro", "%{rfc2822:"+key+"}", "err", err)
		return "", true
	}
	if out != "" && !strings.HasSuffix(out, "\r\n") {
		out += "\r\n"
	}
	return out, true
}

// limitLines keeps the first N lines ("N") or N bytes ("Nb") of s.
func limitLines(s, spec string) (string, error) {
	spec = strings.TrimSpace(spec)
	bytesMode := strings.HasSuffix(spec, "b")
	n, err := strconv.Atoi(strings.TrimSuffix(spec, "b"))
	if err != nil || n < 0 {
		return "", fmt.Errorf("bad count %q", spec)
	}
	if bytesMode {
		if n < len(s) {
			return s[:n], nil
		}
		return s, nil
	}
	pos := 0
	for i := 0; i < n; i++ {
		j := strings.IndexByte(s[pos:], '\n')
		if j < 0 {
			return s, nil
		}
		pos += j + 1
	}
	return s[:pos], nil
}

// partMacro expands rfc2822:text[,N[,M]] and rfc2822:part,N.
func partMacro(m *message, name string, args []string) (string, error) {
	t, err := m.mimeTree()
	if err != nil {
		return "", err
	}
	var list []*txn.Part
	t.Walk(func(p *txn.Part) {
		if name == "text" && p.IsText() || name == "part" && !p.Container() {
			list = append(list, p)
		}
	})
	if name == "text" && len(args) == 0 {
		if len(list) == 0 {
			return "", nil
		}
		return list[0].Text(), nil
	}
	if len(args) == 0 {
		return "", fmt.Errorf("rfc2822:part needs a part number")
	}
	n, err := strconv.Atoi(strings.TrimSpace(args[0]))
	if err != nil || n < 1 {
		return "", fmt.Errorf("bad part number %q", args[0])
	}
	if n > len(list) {
		return "", nil
	}
	p := list[n-1]
	if len(args) > 1 {
		return limitLines(p.Text(), args[1])
	}
	var b strings.Builder
	if err := p.WritePart(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// spfMacro expands one SPF macro letter with its transformers.
func spfMacro(s *session, spec string) (string, bool) {
	if spec == "" {
		return "", false
	}
	letter := spec[0]
	lower := letter | 0x20
	if !strings.ContainsRune("slodipvhct", rune(lower)) {
		return "", false
	}
	rest := spec[1:]
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	keep, _ := strconv.Atoi(rest[:digits])
	rest = rest[digits:]
	reverse := false
	if strings.HasPrefix(rest, "r") || strings.HasPrefix(rest, "R") {
		reverse, rest = true, rest[1:]
	}
	for _, c := range rest {
		if !strings.ContainsRune(".-+,/_=", c) {
			return "", false
		}
	}
	v := spfValue(s, lower)
	if digits > 0 || reverse || rest != "" {
		v = spfTransform(v, keep, reverse, rest)
	}
	if letter != lower {
		v = url.PathEscape(v)
	}
	return v, true
}

// spfTransform splits v on delims (default "."), reverses when asked and
// keeps the right-most keep parts (all when 0), joined with ".".
func spfTransform(v string, keep int, reverse bool, delims string) string {
	if delims == "" {
		delims = "."
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if keep > 0 && keep < len(parts) {
		parts = parts[len(parts)-keep:]
	}
	return strings.Join(parts, ".")
}

// spfValue is the raw value of an SPF macro letter for the session.
func spfValue(s *session, letter byte) string {
	if letter == 't' {
		return strconv.FormatInt(time.Now().Unix(), 10)
	}
	if s == nil {
		return ""
	}
	from := ""
	if s.msg != nil {
		from = s.msg.From
	}
	local, domain := splitAddr(from)
	if local == "" || !strings.Contains(from, "@") {
		local = "postmaster"
	}
	if domain == "" {
		domain = s.helo
	}
	ip := s.peer.IP
	switch letter {
	case 's':
		return local + "@" + domain
	case 'l':
		return local
	case 'o', 'd':
		return domain
	case 'h':
		return s.helo
	case 'p':
		if v := s.conn["reverse_dns"]; v != "" {
			return v
		}
		return "unknown"
	case 'v':
		if ip != nil && ip.To4() == nil {
			return "ip6"
		}
		return "in-addr"
	case 'c':
		if ip == nil {
			return ""
		}
		return ip.String()
	case 'i':
		return spfIP(ip)
	}
	return ""
}

// spfIP writes IPv4 as usual and IPv6 as dot-separated nibbles (RFC 7208).
func spfIP(ip net.IP) string {
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	const hexdig = "0123456789abcdef"
	var b strings.Builder
	for i, c := range ip.To16() {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteByte(hexdig[c>>4])
		b.WriteByte('.')
		b.WriteByte(hexdig[c&0xf])
	}
	return b.String()
}
