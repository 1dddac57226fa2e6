package daemon

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestImportMomentum(t *testing.T) {
	base, err := filepath.Abs("testdata/momentum")
	if err != nil {
		t.Fatal(err)
	}
	search := []string{filepath.Join(base, "conf/default"), filepath.Join(base, "conf/global"), filepath.Join(base, "scriptlets")}
	imp, err := ImportMomentum(filepath.Join(base, "ecelerity.conf"), search)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Source, Path string
		Found              bool
	}
	var got []row
	for _, s := range imp.Scripts {
		got = append(got, row{s.Name, s.Source, strings.TrimPrefix(s.Path, base+"/"), s.Found})
	}
	want := []row{
		{"ehlo_phase", "policy.ehlo_phase", "conf/default/policy/ehlo_phase.lua", true},
		{"rcpt_check", "custom/rcpt_check", "conf/global/custom/rcpt_check.lua", true},
		{"content_checks", "policy.content_checks", "conf/default/policy/content_checks.lua", true},
		{"extended", "msys.extended.message", "conf/default/msys/extended/message.lua", false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scripts:\n got %v\nwant %v", got, want)
	}
	notes := strings.Join(imp.Notes, "\n")
	for _, want := range []string{
		"ecelerity.conf:4: option Keep_Message_Dicts_In_Memory",
		"ecelerity.conf:9: stanza ec_logger \"ec_logger\"",
		"ecelerity.conf:14: stanza esmtp_listener",
		"ecelerity.conf:24: stanza Datasource \"policy_db\": add it under [datasources]",
		"ecelerity.conf:29: scriptlet option script_ttl: luamilter has no equivalent",
		"ecelerity.conf:31: script \"boot\": msys.boot skipped",
		"policy.conf:6: script \"extended\": source \"msys.extended.message\" not found",
		"do not ship with luamilter",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "alerting") {
		t.Errorf("alerting should be silently accepted:\n%s", notes)
	}

	// The generated TOML is a valid config file with the same scripts.
	file := filepath.Join(t.TempDir(), "scripts.toml")
	if err := os.WriteFile(file, []byte(imp.TOML("ecelerity.conf")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	if err := LoadFile(file, &cfg); err != nil {
		t.Fatalf("generated TOML: %v\n%s", err, imp.TOML("ecelerity.conf"))
	}
	var paths []string
	for _, s := range imp.Scripts {
		paths = append(paths, s.Path)
	}
	if !reflect.DeepEqual(cfg.ScriptPaths(), paths) {
		t.Errorf("generated TOML scripts %v, want %v", cfg.ScriptPaths(), paths)
	}
}

func TestParseECErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unclosed stanza", "scriptlet \"s\" {\n script \"a\" {\n", "missing }"},
		{"stray brace", "}\n", ":1: unexpected }"},
		{"unterminated string", "a = \"x\n", ":1: unterminated string"},
		{"unclosed list", "a = ( b c\n", "missing )"},
		{"missing include", "include \"nope.conf\"\n", "include"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "ecelerity.conf")
			if err := os.WriteFile(file, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ImportMomentum(file, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
