package dialect

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLuaTestSuites runs the parser over the Lua 5.1 test suite and
// gopher-lua's own tests, as shipped in the gopher-lua module: every file
// gopher-lua compiles must parse, and translating it must change nothing
// but split constructors and the HelperIter wrapper of each generic for
// (or its thrLua-looking tokens, which the suites use in a few strings).
func TestLuaTestSuites(t *testing.T) {
	dirOut, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yuin/gopher-lua").Output()
	if err != nil {
		t.Skipf("gopher-lua module not found: %v", err)
	}
	dir := strings.TrimSpace(string(dirOut))
	files, _ := filepath.Glob(filepath.Join(dir, "_lua5.1-tests", "*.lua"))
	more, _ := filepath.Glob(filepath.Join(dir, "_glua-tests", "*.lua"))
	files = append(files, more...)
	if len(files) < 20 {
		t.Skipf("only %d test files under %s", len(files), dir)
	}
	checked := 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !compiles(src) {
			continue
		}
		checked++
		base := filepath.Base(filepath.Dir(name)) + "/" + filepath.Base(name)
		toks, err := lex(base, src)
		if err != nil {
			t.Errorf("%s: lex: %v", base, err)
			continue
		}
		p := &parser{chunk: base, src: src, toks: toks, edits: make(edits, len(toks))}
		if err := p.parseChunk(); err != nil {
			t.Errorf("%s: parse: %v", base, err)
			continue
		}
		out, err := Translate(base, src)
		if hasDialect(src) {
			continue // e.g. "\x" in a test string: thrLua reads it differently
		}
		if err != nil {
			t.Errorf("%s: %v", base, err)
		} else if !slices.Equal(plainTokens(out), plainTokens(src)) && !bytes.Contains(out, []byte(HelperMerge)) {
			t.Errorf("%s: plain Lua was changed", base)
		} else if !bytes.Equal(out, src) && !compiles(out) {
			t.Errorf("%s: translated Lua does not compile", base)
		}
	}
	t.Logf("%d files checked", checked)
}
