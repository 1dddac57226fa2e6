package db

import (
	"fmt"
	"strconv"
	"strings"
)

// Params are the values a query binds. Positional[0] fills the first "?"
// (or "$1"); Named fills ":name" and "$name". A nil value is SQL NULL,
// and so is a positional value the slice does not reach.
type Params struct {
	Positional []any
	Named      map[string]any
}

// placeholder styles of the drivers.
const (
	styleQuestion = iota // ?, ?, ? (SQLite)
	styleDollar          // $1, $2, $3 (PostgreSQL)
)

// bind rewrites the placeholders of query into the driver's style and
// returns the arguments in order. It leaves string literals, quoted
// identifiers, comments and PostgreSQL "::" casts alone.
func bind(query string, style int, p Params) (string, []any, error) {
	var b strings.Builder
	var args []any
	next := 0 // next "?" to fill
	emit := func(v any) {
		args = append(args, v)
		if style == styleDollar {
			b.WriteString("$" + strconv.Itoa(len(args)))
		} else {
			b.WriteByte('?')
		}
	}
	positional := func(i int) any {
		if i < len(p.Positional) {
			return p.Positional[i]
		}
		return nil
	}
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				return "", nil, fmt.Errorf("unterminated %c quote in query", c)
			}
			b.WriteString(query[i : i+j+2])
			i += j + 2
		case strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				return "", nil, fmt.Errorf("unterminated comment in query")
			}
			b.WriteString(query[i : i+j+4])
			i += j + 4
		case c == ':' && strings.HasPrefix(query[i:], "::"):
			b.WriteString("::")
			i += 2
		case c == '?':
			emit(positional(next))
			next++
			i++
		case (c == ':' || c == '$') && i+1 < len(query) && isNameStart(query[i+1]):
			j := i + 1
			for j < len(query) && isNameChar(query[j]) {
				j++
			}
			name := query[i+1 : j]
			v, ok := p.Named[name]
			if !ok {
				return "", nil, fmt.Errorf("no parameter named %q for %s", name, query[i:j])
			}
			emit(v)
			i = j
		case c == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			n, _ := strconv.Atoi(query[i+1 : j])
			if n < 1 {
				return "", nil, fmt.Errorf("bad placeholder %s", query[i:j])
			}
			emit(positional(n - 1))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), args, nil
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }
