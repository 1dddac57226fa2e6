package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
)

// Finding is a likely misconfiguration in loaded scripts: something that
// loads and runs, but not as its author meant (a callout name luamilter
// does not know never runs).
type Finding struct {
	File   string
	Line   int // 0 when unknown
	Module string
	Kind   string // metric label: "unknown_callout"
	Msg    string
}

// String renders the finding as file:line: message.
func (f Finding) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Msg)
	}
	return fmt.Sprintf("%s: %s", f.File, f.Msg)
}

// Lint lists the findings in rt's loaded modules. `luamilter check`,
// start-up and every reload run this same check.
func Lint(rt *luart.Runtime) []Finding {
	var out []Finding
	for _, m := range rt.LoadedModules() {
		var names []string
		m.Table.ForEach(func(k, v lua.LValue) {
			if _, ok := v.(*lua.LFunction); ok {
				names = append(names, k.String())
			}
		})
		sort.Strings(names)
		for _, name := range names {
			if luart.KnownCallout(name) || luart.IgnoredHook(name) {
				continue
			}
			fn := m.Table.RawGetString(name).(*lua.LFunction)
			line := 0
			if fn.Proto != nil {
				line = fn.Proto.LineDefined
			}
			out = append(out, Finding{File: m.Script, Line: line, Module: m.Name, Kind: "unknown_callout",
				Msg: fmt.Sprintf("module %q: %q is not a callout luamilter knows (misspelled? it will never run)", m.Name, name)})
		}
	}
	return out
}

// ErrFindings is wrapped by the error New and Reload return when strict
// mode turns findings into errors.
var ErrFindings = errors.New("script findings in strict mode")

// reportFindings logs each finding as a warning with its file and line
// and counts it; in strict mode they are an error instead of a warning.
func (d *Daemon) reportFindings(fs []Finding, strict bool) error {
	level, what := slog.LevelWarn, "script finding"
	if strict {
		level, what = slog.LevelError, "script finding (strict: refused)"
	}
	lines := make([]string, len(fs))
	for i, f := range fs {
		d.met.findings.WithLabelValues(f.Kind).Inc()
		d.log.Log(context.Background(), level, what, "file", f.File, "line", f.Line, "module", f.Module, "kind", f.Kind, "finding", f.Msg)
		lines[i] = f.String()
	}
	if strict && len(fs) > 0 {
		return fmt.Errorf("%w:\n%s", ErrFindings, strings.Join(lines, "\n"))
	}
	return nil
}
