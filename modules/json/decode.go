package json

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// Error codes, numbered as json-c's enum json_tokener_error so scripts
// written against Momentum see the same values.
const (
	ErrSuccess = iota
	ErrContinue
	ErrDepth
	ErrParseEOF
	ErrParseUnexpected
	ErrParseNull
	ErrParseBoolean
	ErrParseNumber
	ErrParseArray
	ErrParseObjectKeyName
	ErrParseObjectKeySep
	ErrParseObjectValueSep
	ErrParseString
	ErrParseComment
	ErrParseUTF8String
	ErrMemory
	ErrSize
)

// codeNames are the json.* constant names, indexed by code.
var codeNames = []string{
	"", "", "ERROR_DEPTH", "ERROR_PARSE_EOF", "ERROR_PARSE_UNEXPECTED",
	"ERROR_PARSE_NULL", "ERROR_PARSE_BOOLEAN", "ERROR_PARSE_NUMBER",
	"ERROR_PARSE_ARRAY", "ERROR_PARSE_OBJECT_KEY_NAME", "ERROR_PARSE_OBJECT_KEY_SEP",
	"ERROR_PARSE_OBJECT_VALUE_SEP", "ERROR_PARSE_STRING", "ERROR_PARSE_COMMENT",
	"ERROR_PARSE_UTF8_STRING", "ERROR_MEMORY", "ERROR_SIZE",
}

var codeText = []string{
	"success", "continue", "nesting too deep", "unexpected end of data",
	"unexpected character", "null expected", "boolean expected", "number expected",
	"array value separator ',' expected", "quoted object property name expected",
	"object property name separator ':' expected", "object value separator ',' expected",
	"invalid string sequence", "expected comment", "invalid utf-8 string",
	"memory allocation failure", "input too large",
}

// Strerror describes a json.decode error code.
func Strerror(code int) string {
	if code < 0 || code >= len(codeText) {
		return fmt.Sprintf("unknown error %d", code)
	}
	return codeText[code]
}

// DecodeError is a json.decode failure: Code is the json-c style code and
// Offset the byte position where parsing stopped.
type DecodeError struct {
	Code   int
	Offset int
}

// Error describes where and why decoding failed.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("json: %s at offset %d", Strerror(e.Code), e.Offset)
}

func (s *state) luaDecode(L *lua.LState) int {
	v, err := s.decode(L, L.CheckString(1))
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LNumber(err.Code))
		L.Push(lua.LString(err.Error()))
		return 3
	}
	L.Push(v)
	return 1
}

// decode parses text into Lua values of this state.
func (s *state) decode(L *lua.LState, text string) (lua.LValue, *DecodeError) {
	if len(text) > s.opts.MaxSize {
		return nil, &DecodeError{Code: ErrSize}
	}
	d := &decoder{L: L, s: s, in: text}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if err := d.skip(); err != nil {
		return nil, err
	}
	if d.pos < len(d.in) {
		return nil, d.fail(ErrParseUnexpected)
	}
	return v, nil
}

type decoder struct {
	L   *lua.LState
	s   *state
	in  string
	pos int
}

func (d *decoder) fail(code int) *DecodeError { return &DecodeError{Code: code, Offset: d.pos} }

// skip passes blanks and /* */ or // comments.
func (d *decoder) skip() *DecodeError {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\r', '\n':
			d.pos++
		case '/':
			if d.pos+1 >= len(d.in) {
				return d.fail(ErrParseComment)
			}
			switch d.in[d.pos+1] {
			case '/':
				for d.pos < len(d.in) && d.in[d.pos] != '\n' {
					d.pos++
				}
			case '*':
				end := strings.Index(d.in[d.pos+2:], "*/")
				if end < 0 {
					d.pos = len(d.in)
					return d.fail(ErrParseComment)
				}
				d.pos += 2 + end + 2
			default:
				return d.fail(ErrParseComment)
			}
		default:
			return nil
		}
	}
	return nil
}

func (d *decoder) value(depth int) (lua.LValue, *DecodeError) {
	c, err := d.next()
	if err != nil {
		return nil, err
	}
	switch {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		str, err := d.str()
		if err != nil {
			return nil, err
		}
		return lua.LString(str), nil
	case c == 'n':
		return d.word("null", ErrParseNull, d.s.nullValue)
	case c == 't':
		return d.word("true", ErrParseBoolean, lua.LTrue)
	case c == 'f':
		return d.word("false", ErrParseBoolean, lua.LFalse)
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, d.fail(ErrParseUnexpected)
}

func (d *decoder) word(w string, code int, v lua.LValue) (lua.LValue, *DecodeError) {
	for i := 0; i < len(w); i++ {
		if d.pos >= len(d.in) {
			return nil, d.fail(ErrParseEOF)
		}
		if d.in[d.pos] != w[i] {
			return nil, d.fail(code)
		}
		d.pos++
	}
	return v, nil
}

func (d *decoder) number() (lua.LValue, *DecodeError) {
	start := d.pos
	digits := func() int {
		n := 0
		for d.pos < len(d.in) && d.in[d.pos] >= '0' && d.in[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.in[d.pos] == '-' {
		d.pos++
	}
	if digits() == 0 {
		return nil, d.fail(ErrParseNumber)
	}
	if d.pos < len(d.in) && d.in[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return nil, d.fail(ErrParseNumber)
		}
	}
	if d.pos < len(d.in) && (d.in[d.pos] == 'e' || d.in[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.in) && (d.in[d.pos] == '+' || d.in[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.fail(ErrParseNumber)
		}
	}
	f, err := strconv.ParseFloat(d.in[start:d.pos], 64)
	if err != nil {
		return nil, &DecodeError{Code: ErrParseNumber, Offset: start}
	}
	return lua.LNumber(f), nil
}

func (d *decoder) str() (string, *DecodeError) {
	d.pos++ // opening quote
	var buf []byte
	for {
		if d.pos >= len(d.in) {
			return "", d.fail(ErrParseEOF)
		}
		c := d.in[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf), nil
		case c == '\\':
			if d.pos+1 >= len(d.in) {
				return "", d.fail(ErrParseEOF)
			}
			e := d.in[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := d.unicode()
				if err != nil {
					return "", err
				}
				buf = utf8.AppendRune(buf, r)
			default:
				d.pos -= 2
				return "", d.fail(ErrParseString)
			}
		case c < 0x20:
			return "", d.fail(ErrParseString)
		default:
			buf = append(buf, c)
			d.pos++
		}
	}
}

// unicode reads the hex digits of \uXXXX (already past "\u"), joining
// surrogate pairs; a lone surrogate becomes U+FFFD.
func (d *decoder) unicode() (rune, *DecodeError) {
	hex4 := func() (rune, *DecodeError) {
		if d.pos+4 > len(d.in) {
			return 0, d.fail(ErrParseEOF)
		}
		n, err := strconv.ParseUint(d.in[d.pos:d.pos+4], 16, 32)
		if err != nil {
			return 0, d.fail(ErrParseString)
		}
		d.pos += 4
		return rune(n), nil
	}
	r, err := hex4()
	if err != nil {
		return 0, err
	}
	if utf16.IsSurrogate(r) {
		if d.pos+2 <= len(d.in) && d.in[d.pos:d.pos+2] == `\u` {
			save := d.pos
			d.pos += 2
			r2, err := hex4()
			if err != nil {
				return 0, err
			}
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return dec, nil
			}
			d.pos = save
		}
		return utf8.RuneError, nil
	}
	return r, nil
}

// next skips blanks and comments and returns the byte at d.pos without
// consuming it; running out of input there is ErrParseEOF.
func (d *decoder) next() (byte, *DecodeError) {
	if err := d.skip(); err != nil {
		return 0, err
	}
	if d.pos >= len(d.in) {
		return 0, d.fail(ErrParseEOF)
	}
	return d.in[d.pos], nil
}

// open consumes the opening bracket of an array or object, enforcing the
// depth limit, and returns its (empty) table with metatable mt. empty
// reports that the closing byte end followed at once; it is consumed too.
func (d *decoder) open(depth int, mt *lua.LTable, end byte) (t *lua.LTable, empty bool, err *DecodeError) {
	if depth > d.s.opts.MaxDepth {
		return nil, false, d.fail(ErrDepth)
	}
	d.pos++
	t = d.L.NewTable()
	t.Metatable = mt
	if err := d.skip(); err != nil {
		return nil, false, err
	}
	if d.pos < len(d.in) && d.in[d.pos] == end {
		d.pos++
		return t, true, nil
	}
	return t, false, nil
}

// more consumes what follows a member of an array or object: true for a
// ',' (another member comes), false for the closing byte end, and the
// error code bad for anything else.
func (d *decoder) more(end byte, bad int) (bool, *DecodeError) {
	c, err := d.next()
	if err != nil {
		return false, err
	}
	switch c {
	case ',':
		d.pos++
		return true, nil
	case end:
		d.pos++
		return false, nil
	}
	return false, d.fail(bad)
}

func (d *decoder) array(depth int) (lua.LValue, *DecodeError) {
	t, empty, err := d.open(depth, d.s.arrayMT, ']')
	if err != nil {
		return nil, err
	}
	if empty {
		return t, nil
	}
	for i := 1; ; i++ {
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		t.RawSetInt(i, v)
		more, err := d.more(']', ErrParseArray)
		if err != nil {
			return nil, err
		}
		if !more {
			return t, nil
		}
	}
}

func (d *decoder) object(depth int) (lua.LValue, *DecodeError) {
	t, empty, err := d.open(depth, d.s.objectMT, '}')
	if err != nil {
		return nil, err
	}
	if empty {
		return t, nil
	}
	for {
		c, err := d.next()
		if err != nil {
			return nil, err
		}
		if c != '"' {
			return nil, d.fail(ErrParseObjectKeyName)
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		if c, err = d.next(); err != nil {
			return nil, err
		}
		if c != ':' {
			return nil, d.fail(ErrParseObjectKeySep)
		}
		d.pos++
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		t.RawSetString(key, v)
		more, err := d.more('}', ErrParseObjectValueSep)
		if err != nil {
			return nil, err
		}
		if !more {
			return t, nil
		}
	}
}
