package msysfuncs

import (
	"fmt"
	"net/mail"
	"strings"
)

// ParseAddressComponents parses an RFC 2822 address list and returns the
// requested component of each address: "all", "localpart", "user",
// "detail" or "domain" (see the package documentation). Only an unknown
// component is an error; text without addresses gives an empty slice.
func ParseAddressComponents(s, component string) ([]string, error) {
	pick, ok := components[component]
	if !ok {
		return nil, fmt.Errorf("unknown component %q (want all, localpart, user, detail or domain)", component)
	}
	var out []string
	for _, addr := range addresses(s) {
		out = append(out, pick(addr))
	}
	return out, nil
}

var components = map[string]func(addr string) string{
	"all":       func(a string) string { return a },
	"localpart": func(a string) string { l, _ := splitAt(a); return l },
	"domain":    func(a string) string { _, d := splitAt(a); return d },
	"user": func(a string) string {
		l, _ := splitAt(a)
		u, _, _ := strings.Cut(l, "+")
		return u
	},
	"detail": func(a string) string {
		l, _ := splitAt(a)
		_, d, _ := strings.Cut(l, "+")
		return d
	},
}

func splitAt(a string) (local, domain string) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, ""
	}
	return a[:i], a[i+1:]
}

// addresses returns the addr-specs in s, using net/mail and falling back to
// a lenient split when it fails.
func addresses(s string) []string {
	p := mail.AddressParser{}
	if list, err := p.ParseList(s); err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, a.Address)
		}
		return out
	}
	var out []string
	for _, piece := range splitList(s) {
		if i := strings.LastIndexByte(piece, '<'); i >= 0 {
			if j := strings.IndexByte(piece[i:], '>'); j > 0 {
				piece = piece[i+1 : i+j]
			}
		} else {
			piece = stripComments(piece)
		}
		if a := strings.TrimSpace(piece); plausible(a) {
			out = append(out, a)
		}
	}
	return out
}

// plausible reports whether a looks like local@domain.
func plausible(a string) bool {
	i := strings.LastIndexByte(a, '@')
	return i > 0 && i < len(a)-1 && !strings.ContainsAny(a, " \t\"<>()")
}

// stripComments removes (...) comments outside quotes.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && depth == 0:
			quoted = !quoted
		case c == '(' && !quoted:
			depth++
			continue
		case c == ')' && !quoted && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitList splits on commas that are not inside quotes, <...> or (...).
func splitList(s string) []string {
	var out []string
	var quoted bool
	var angle, paren int
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case (c == ',' || c == ';') && angle == 0 && paren == 0:
			out = append(out, s[start:i])
			start = i + 1
		case c == ':' && angle == 0 && paren == 0:
			start = i + 1 // a group name such as "friends:"
		}
	}
	return append(out, s[start:])
}
