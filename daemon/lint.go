package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/callout"
	"github.com/luamilter/luamilter/luart"
)

// Finding is a likely misconfiguration in loaded scripts: something that
// loads and runs, but not as its author meant (a callout name luamilter
// does not know never runs; a misspelled msys.core constant is nil).
type Finding struct {
	File   string
	Line   int // 0 when unknown
	Module string
	Kind   string // metric label: "unknown_callout", "unknown_core_name", "ignored_hook"
	Msg    string
	// Note marks what the author should know but did nothing wrong: a
	// Momentum hook that a milter never calls. Notes are logged at info
	// level, are not counted and do not fail strict mode or check.
	Note bool
}

// String renders the finding as file:line: message.
func (f Finding) String() string {
	msg := f.Msg
	if f.Note {
		msg = "note: " + msg
	}
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", f.File, f.Line, msg)
	}
	return fmt.Sprintf("%s: %s", f.File, msg)
}

// Lint lists the findings in rt's loaded modules and in the source of
// the scripts that registered them and of the helpers they required.
// `luamilter check`, start-up and every reload run this same check.
func Lint(rt *luart.Runtime) []Finding {
	return LintFiles(rt, nil)
}

// LintFiles is Lint that also reads the source of files, for scripts
// that register no module (or did not load) but may still misspell a
// msys.core name: `luamilter check` passes every script it was given.
func LintFiles(rt *luart.Runtime, files []string) []Finding {
	out := lintCallouts(rt)
	sources := slices.Clone(files)
	for _, m := range rt.LoadedModules() {
		sources = append(sources, m.Script)
	}
	sources = append(sources, rt.HelperPaths()...)
	out = append(out, lintCoreNames(CoreNames(rt), sources)...)
	// File by file in the order given, then by line, so one file's
	// findings read together.
	order := map[string]int{}
	for i, f := range sources {
		if _, ok := order[f]; !ok {
			order[f] = i
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := order[out[i].File], order[out[j].File]
		if oi != oj {
			return oi < oj
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// lintCallouts reports module functions that are neither a callout nor a
// Momentum hook (likely typos) and notes the hooks a milter never calls.
func lintCallouts(rt *luart.Runtime) []Finding {
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
			if _, ok := callout.Lookup(name); ok {
				continue
			}
			fn := m.Table.RawGetString(name).(*lua.LFunction)
			line := 0
			if fn.Proto != nil {
				line = fn.Proto.LineDefined
			}
			f := Finding{File: m.Script, Line: line, Module: m.Name}
			if why, ok := callout.NeverRuns(name); ok {
				f.Kind, f.Note = "ignored_hook", true
				f.Msg = fmt.Sprintf("module %q: %q is a Momentum hook that never runs under luamilter: %s", m.Name, name, why)
			} else {
				f.Kind = "unknown_callout"
				f.Msg = fmt.Sprintf("module %q: %q is not a callout luamilter knows (misspelled? it will never run)", m.Name, name)
				if near := closest(name, callout.KnownNames()); near != "" {
					f.Msg += fmt.Sprintf("; did you mean %q?", near)
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// CoreNames returns the names msys.core really has in rt: its constants,
// its functions and what the configured libraries merged into it.
func CoreNames(rt *luart.Runtime) map[string]bool {
	names := map[string]bool{}
	st, err := rt.Acquire(context.Background())
	if err != nil {
		return names
	}
	defer rt.Release(st)
	L := st.L
	msys, ok := L.GetGlobal("msys").(*lua.LTable)
	if !ok {
		return names
	}
	core, ok := L.GetField(msys, "core").(*lua.LTable)
	// The sandbox hands scripts an empty read-only view whose __index
	// is the real table, so the names are read along that chain.
	for depth := 0; ok && depth < 8; depth++ {
		core.ForEach(func(k, _ lua.LValue) {
			if s, isStr := k.(lua.LString); isStr {
				names[string(s)] = true
			}
		})
		mt, isTable := core.Metatable.(*lua.LTable)
		if !isTable {
			break
		}
		core, ok = mt.RawGetString("__index").(*lua.LTable)
	}
	return names
}

var (
	// coreField is a read of a msys.core field, spaces allowed as Lua
	// allows them; not of a field that is itself called msys (t.msys).
	coreField = regexp.MustCompile(`(?:^|[^.:\w])msys\s*\.\s*core\s*\.\s*([A-Za-z_]\w*)`)
	// coreAlias is a local bound to msys.core itself (not to a field of
	// it): `local core = msys.core` or `local core = require("msys.core")`.
	// Go's regexp has no look-ahead: group 2 catches a dot after
	// msys.core (a field, not the table) and group 3 the string given to
	// require, whose contents are blanked in the text searched.
	coreAlias = regexp.MustCompile(`\blocal\s+([A-Za-z_]\w*)\s*=\s*(?:msys\s*\.\s*core\b\s*(\.?)|require\s*\(?\s*(["'][^"'\n]*["']))`)
)

// lintCoreNames reads the source of files (each once) for msys.core
// fields that known does not have. Such a read is nil without an error
// in Lua, so `return msys.core.VALIDATE_CONTINUE` quietly returns nil.
// It reads the source rather than the bytecode because a field read
// compiles to a GETTABLE whose table comes from anywhere; comments and
// strings are blanked first so that prose does not count.
func lintCoreNames(known map[string]bool, files []string) []Finding {
	if len(known) == 0 {
		return nil
	}
	candidates := make([]string, 0, len(known))
	for n := range known {
		candidates = append(candidates, n)
	}
	sort.Strings(candidates)
	var out []Finding
	seen := map[string]bool{}
	for _, file := range files {
		if seen[file] {
			continue
		}
		seen[file] = true
		src, err := os.ReadFile(file)
		if err != nil {
			continue // reported by the load
		}
		var found []Finding
		code := blankCommentsAndStrings(src)
		report := func(at int, name, how string) {
			if known[name] {
				return
			}
			msg := fmt.Sprintf("%s.%s is not in msys.core: it reads as nil", how, name)
			if near := closest(name, candidates); near != "" {
				msg += fmt.Sprintf("; did you mean %s.%s?", how, near)
			}
			found = append(found, Finding{File: file, Line: 1 + strings.Count(string(code[:at]), "\n"), Kind: "unknown_core_name", Msg: msg})
		}
		for _, m := range coreField.FindAllSubmatchIndex(code, -1) {
			report(m[2], string(code[m[2]:m[3]]), "msys.core")
		}
		for _, a := range coreAlias.FindAllSubmatchIndex(code, -1) {
			if a[4] >= 0 && a[5] > a[4] {
				continue // msys.core.FIELD: not the table itself
			}
			if a[6] >= 0 && strings.Trim(string(src[a[6]:a[7]]), `"'`) != "msys.core" {
				continue
			}
			alias := string(code[a[2]:a[3]])
			use := regexp.MustCompile(`(?:^|[^.:\w])` + regexp.QuoteMeta(alias) + `\s*\.\s*([A-Za-z_]\w*)`)
			for _, m := range use.FindAllSubmatchIndex(code, -1) {
				report(m[2], string(code[m[2]:m[3]]), alias)
			}
		}
		sort.SliceStable(found, func(i, j int) bool { return found[i].Line < found[j].Line })
		out = append(out, found...)
	}
	return out
}

// blankCommentsAndStrings returns src with Lua comments and the contents
// of string literals replaced by spaces, newlines kept, so that offsets
// and line numbers still match src.
func blankCommentsAndStrings(src []byte) []byte {
	out := slices.Clone(src)
	blank := func(from, to int) {
		for i := from; i < to && i < len(out); i++ {
			if out[i] != '\n' {
				out[i] = ' '
			}
		}
	}
	// longBracket reports the level of a long bracket [==[ at i, or -1.
	longBracket := func(i int) int {
		if i >= len(src) || src[i] != '[' {
			return -1
		}
		j := i + 1
		for j < len(src) && src[j] == '=' {
			j++
		}
		if j < len(src) && src[j] == '[' {
			return j - i - 1
		}
		return -1
	}
	closeLong := func(from, level int) int {
		end := "]" + strings.Repeat("=", level) + "]"
		if k := strings.Index(string(src[from:]), end); k >= 0 {
			return from + k + len(end)
		}
		return len(src)
	}
	for i := 0; i < len(src); {
		switch c := src[i]; {
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			end := 0
			if lv := longBracket(i + 2); lv >= 0 {
				end = closeLong(i+2+lv+2, lv)
			} else {
				end = i
				for end < len(src) && src[end] != '\n' {
					end++
				}
			}
			blank(i, end)
			i = end
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			blank(i+1, j)
			i = j + 1
		case c == '[':
			if lv := longBracket(i); lv >= 0 {
				end := closeLong(i+lv+2, lv)
				blank(i+lv+2, end-lv-2)
				i = end
				continue
			}
			i++
		default:
			i++
		}
	}
	return out
}

// closest returns the candidate nearest to name by edit distance, or ""
// when none is near enough to be a likely intended spelling.
func closest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := editDistance(strings.ToUpper(name), strings.ToUpper(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	// A shortened or lengthened name (VALIDATE_CONTINUE for
	// VALIDATE_CONT) differs by more letters than a slip of the finger.
	if bestD < 0 || bestD > max(2, min(len(name), len(best))/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ErrFindings is wrapped by the error New and Reload return when strict
// mode turns findings into errors.
var ErrFindings = errors.New("script findings in strict mode")

// reportFindings logs each finding as a warning with its file and line
// and counts it; in strict mode they are an error instead of a warning.
// Notes are logged at info level only: they never refuse a script.
func (d *Daemon) reportFindings(fs []Finding, strict bool) error {
	level, what := slog.LevelWarn, "script finding"
	if strict {
		level, what = slog.LevelError, "script finding (strict: refused)"
	}
	var lines []string
	for _, f := range fs {
		if f.Note {
			d.log.Info("script note", "file", f.File, "line", f.Line, "module", f.Module, "kind", f.Kind, "note", f.Msg)
			continue
		}
		d.met.findings.WithLabelValues(f.Kind).Inc()
		d.log.Log(context.Background(), level, what, "file", f.File, "line", f.Line, "module", f.Module, "kind", f.Kind, "finding", f.Msg)
		lines = append(lines, f.String())
	}
	if strict && len(lines) > 0 {
		return fmt.Errorf("%w:\n%s", ErrFindings, strings.Join(lines, "\n"))
	}
	return nil
}
