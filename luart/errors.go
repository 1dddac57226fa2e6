package luart

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// ErrorKind tells why a call into Lua failed.
type ErrorKind int

const (
	// KindRuntime is an ordinary Lua error raised by the script.
	KindRuntime ErrorKind = iota
	// KindTimeout means the call ran past its deadline.
	KindTimeout
	// KindLimit means a resource limit (memory brake, string size, ...) was hit.
	KindLimit
	// KindPanic means Go code inside the VM panicked; the State is discarded.
	KindPanic
	// KindSyntax is a compile error while loading a script.
	KindSyntax
)

// String names the kind as it appears in log lines ("timeout", "limit", ...).
func (k ErrorKind) String() string {
	switch k {
	case KindTimeout:
		return "timeout"
	case KindLimit:
		return "limit"
	case KindPanic:
		return "panic"
	case KindSyntax:
		return "syntax"
	default:
		return "runtime"
	}
}

// ScriptError is a failure of script code, with where it happened.
type ScriptError struct {
	Kind    ErrorKind
	Module  string // module name, or the script path while loading
	Callout string // callout name, empty while loading
	File    string // source file of the failing line, when known
	Line    int    // line in File, 0 when unknown
	Msg     string // message without the file:line prefix
	Stack   string // Go stack for KindPanic
}

// Error renders "module.callout: file:line: message (kind)".
func (e *ScriptError) Error() string {
	where := e.Module
	if e.Callout != "" {
		where += "." + e.Callout
	}
	pos := ""
	if e.File != "" {
		pos = e.File
		if e.Line > 0 {
			pos += ":" + strconv.Itoa(e.Line)
		}
		pos += ": "
	}
	if e.Callout == "" && e.File == e.Module && pos != "" {
		return fmt.Sprintf("%s%s (%s)", pos, e.Msg, e.Kind)
	}
	return fmt.Sprintf("%s: %s%s (%s)", where, pos, e.Msg, e.Kind)
}

// AsScriptError returns the ScriptError inside err, if any.
func AsScriptError(err error) (*ScriptError, bool) {
	var se *ScriptError
	ok := errors.As(err, &se)
	return se, ok
}

// positionPrefix matches gopher-lua's "chunk:line: " error prefix.
var positionPrefix = regexp.MustCompile(`^([^\s:][^:\n]*):(\d+):\s*`)

// splitPosition separates "file:line: msg" into its parts.
func splitPosition(msg string) (file string, line int, rest string) {
	m := positionPrefix.FindStringSubmatchIndex(msg)
	if m == nil {
		return "", 0, msg
	}
	file = msg[m[2]:m[3]]
	line, _ = strconv.Atoi(msg[m[4]:m[5]])
	return file, line, msg[m[1]:]
}
