// Package hdrblock reads the header block of a message or MIME part the
// way Postfix does, so that the test client, the message model and a
// script's msg:raw(new) agree on where the header fields end and what
// their names are.
//
// A field starts with a name of printable ASCII other than the colon,
// then optional blanks, then the colon (Postfix's is_header: RFC 5322
// allows no blanks there, but its obsolete syntax and every MTA do, and
// the blanks are not part of the name). A line starting with a blank
// continues the field before it. The block ends at an empty line, which
// is dropped, or at the first line that is neither a field nor a
// continuation (a line without a colon, an mbox "From " line, a name
// with a space or 8-bit byte in it): that line and the rest are body, as
// Postfix passes them on.
package hdrblock

// Field is one header field: Name without the colon or the blanks before
// it, Value everything after the colon as it came, folds included with
// CRLF line ends.
type Field struct {
	Name  string
	Value string
}

// Split reads the header fields at the start of raw, whose lines end in
// CRLF or LF, and returns them with the offset in raw where the body
// starts.
func Split[T string | []byte](raw T) (fields []Field, body int) {
	pos := 0
	for pos < len(raw) {
		end, next := lineEnd(raw, pos)
		line := raw[pos:end]
		switch {
		case len(line) == 0:
			return fields, next
		case (line[0] == ' ' || line[0] == '\t') && len(fields) > 0:
			fields[len(fields)-1].Value += "\r\n" + string(line)
		default:
			name, value, ok := Line(line)
			if !ok {
				return fields, pos
			}
			fields = append(fields, Field{Name: name, Value: value})
		}
		pos = next
	}
	return fields, len(raw)
}

// lineEnd returns where the line at pos ends, before its CRLF or LF, and
// where the next one starts.
func lineEnd[T string | []byte](raw T, pos int) (end, next int) {
	for i := pos; i < len(raw); i++ {
		if raw[i] == '\n' {
			if i > pos && raw[i-1] == '\r' {
				return i - 1, i + 1
			}
			return i, i + 1
		}
	}
	return len(raw), len(raw)
}

// Line splits a line that starts a header field into its name and the
// value after the colon; ok is false for any other line.
func Line[T string | []byte](line T) (name, value string, ok bool) {
	n := 0
	for n < len(line) && nameByte(line[n]) {
		n++
	}
	if n == 0 {
		return "", "", false
	}
	i := n
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i == len(line) || line[i] != ':' {
		return "", "", false
	}
	return string(line[:n]), string(line[i+1:]), true
}

// ValidName reports whether name can be a field name as it is sent: one
// or more printable ASCII characters other than the colon. The milter
// protocol and go-milter refuse any other.
func ValidName(name string) bool {
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return false
		}
	}
	return name != ""
}

func nameByte(c byte) bool { return c > ' ' && c < 0x7f && c != ':' }
