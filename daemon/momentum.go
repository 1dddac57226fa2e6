package daemon

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// DefaultMomentumSearchPath returns where Momentum looks for scriptlet
// sources when its configuration does not say otherwise.
func DefaultMomentumSearchPath() []string {
	return []string{
		"/opt/msys/ecelerity/etc/conf/default",
		"/opt/msys/ecelerity/etc/conf/global",
		"/opt/msys/ecelerity/libexec/scriptlets",
	}
}

// MomentumImport is what import-momentum made of an ecelerity.conf.
type MomentumImport struct {
	Scripts []ImportedScript
	// Notes list what could not be mapped, one line each, starting
	// with the file and line it came from.
	Notes []string
}

// ImportedScript is one `script "name" { source = "..." }` entry.
type ImportedScript struct {
	Name   string // stanza name (Momentum expects it to equal the registered module name)
	Source string // Momentum module path as written
	Path   string // file it resolved to
	Found  bool   // Path exists
	Where  string // file:line of the stanza
}

// ImportMomentum reads an ecelerity.conf (following include directives)
// and maps its scriptlet stanza's scripts, in order, to luamilter
// scripts, resolving each source against searchPath.
func ImportMomentum(path string, searchPath []string) (*MomentumImport, error) {
	nodes, err := parseECFile(path, 0)
	if err != nil {
		return nil, err
	}
	imp := &MomentumImport{}
	scriptlets := 0
	first := ""
	for _, n := range nodes {
		switch {
		case strings.EqualFold(n.name, "scriptlet") && n.block:
			scriptlets++
			if scriptlets == 1 {
				first = n.instance
			} else if n.instance != first {
				imp.note(n, fmt.Sprintf("scriptlet %q: Momentum allows one instance name (%q); imported anyway", n.instance, first))
			}
			imp.scriptlet(n, searchPath)
		case strings.EqualFold(n.name, "alerting") && n.block:
			// Required by Momentum's scriptlet module; nothing to do here.
		case n.name == "include":
			// Already followed by the parser.
		default:
			what := "option " + n.name
			if n.block {
				what = "stanza " + n.name
				if n.instance != "" {
					what += " " + strconv.Quote(n.instance)
				}
			}
			hint := "configure the MTA or luamilter's own settings instead"
			switch strings.ToLower(n.name) {
			case "datasource":
				hint = "add it under [datasources] with a luamilter URI (sqlite:/path.db or postgres://...)"
			case "esmtp_listener", "listen":
				hint = "the MTA's SMTP listener settings apply"
			}
			imp.note(n, what+": "+hint)
		}
	}
	if scriptlets == 0 {
		imp.Notes = append(imp.Notes, path+": no scriptlet stanza: no scripts to import")
	}
	return imp, nil
}

func (imp *MomentumImport) note(n *ecNode, msg string) {
	imp.Notes = append(imp.Notes, fmt.Sprintf("%s:%d: %s", n.file, n.line, msg))
}

func (imp *MomentumImport) scriptlet(st *ecNode, searchPath []string) {
	for _, n := range st.children {
		if n.name != "script" || !n.block {
			imp.note(n, fmt.Sprintf("scriptlet option %s: luamilter has no equivalent", n.name))
			continue
		}
		var source *ecNode
		for _, o := range n.children {
			if o.name == "source" && !o.block {
				source = o
			} else {
				imp.note(o, fmt.Sprintf("script %q: option %s: a script stanza has only source", n.instance, o.name))
			}
		}
		if source == nil || source.value == "" {
			imp.note(n, fmt.Sprintf("script %q: no source", n.instance))
			continue
		}
		if source.value == "msys.boot" {
			imp.note(n, fmt.Sprintf("script %q: msys.boot skipped: Momentum's bootstrap; luamilter provides msys.* itself", n.instance))
			continue
		}
		path, found, tried := resolveMomentumSource(source.value, searchPath)
		if !found {
			msg := fmt.Sprintf("script %q: source %q not found (tried %s)", n.instance, source.value, strings.Join(tried, ", "))
			if strings.HasPrefix(source.value, "msys.") {
				msg += "; Momentum's own msys.* scripts do not ship with luamilter"
			}
			imp.note(n, msg)
		}
		if strings.HasSuffix(source.value, ".lua") && !filepath.IsAbs(source.value) {
			imp.note(n, fmt.Sprintf("script %q: source %q ends in .lua: Momentum would look for %s", n.instance, source.value, modulePath(source.value)))
		}
		imp.Scripts = append(imp.Scripts, ImportedScript{Name: n.instance, Source: source.value, Path: path, Found: found,
			Where: fmt.Sprintf("%s:%d", n.file, n.line)})
	}
}

// modulePath turns a Momentum module path into a relative file name:
// "." and "/" separate directories and ".lua" is added.
func modulePath(source string) string {
	return filepath.FromSlash(strings.ReplaceAll(source, ".", "/")) + ".lua"
}

// resolveMomentumSource finds a source in the search path. An absolute
// path is used as it is. When nothing is found it returns the first
// candidate.
func resolveMomentumSource(source string, searchPath []string) (string, bool, []string) {
	if filepath.IsAbs(source) {
		p := source
		if !strings.HasSuffix(p, ".lua") {
			p += ".lua"
		}
		for _, c := range []string{source, p} {
			if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
				return c, true, nil
			}
		}
		return p, false, []string{p}
	}
	rel := modulePath(source)
	var tried []string
	for _, dir := range searchPath {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		c := filepath.Join(dir, rel)
		tried = append(tried, c)
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c, true, tried
		}
	}
	if len(tried) == 0 {
		return rel, false, []string{rel}
	}
	return tried[0], false, tried
}

// TOML renders the import as a luamilter config file fragment.
func (imp *MomentumImport) TOML(from string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Scripts imported from %s by luamilter import-momentum, in Momentum's order.\n", from)
	fmt.Fprintf(&b, "# Each script's modules run per phase in this order, as on Momentum.\n")
	for _, s := range imp.Scripts {
		b.WriteString("\n[[script]]\n")
		fmt.Fprintf(&b, "# script %q { source = %q }  (%s)\n", s.Name, s.Source, s.Where)
		if !s.Found {
			b.WriteString("# NOT FOUND: fix the path\n")
		}
		// The encoder quotes the path as TOML needs and ends the line;
		// a map of strings always encodes.
		toml.NewEncoder(&b).Encode(map[string]string{"path": s.Path})
	}
	return b.String()
}
