package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/daemon"
)

// TestScriptEnvSetting checks that script_env is read from the config
// file, LUAMILTER_SCRIPT_ENV and repeated --script-env flags, defaults to
// none, and reaches the Lua runtime's configuration.
func TestScriptEnvSetting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "luamilter.toml")
	if err := os.WriteFile(file, []byte(`script_env = ["FROM_FILE"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "default", want: ""},
		{name: "environment", env: map[string]string{"LUAMILTER_SCRIPT_ENV": "A, B"}, want: "A B"},
		{name: "file", env: map[string]string{"LUAMILTER_SCRIPT_ENV": "A"}, args: []string{"--config", file}, want: "FROM_FILE"},
		{name: "flags", args: []string{"--config", file, "--script-env", "X", "--script-env", "Y"}, want: "X Y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadWith(t, tc.env, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Scripts = []daemon.Script{{Path: "policy.lua"}}
			st, err := daemon.NewStack(cfg, daemon.StackOptions{NoModules: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			got := strings.Join(st.RuntimeConfig(cfg).ScriptEnv, " ")
			if got != tc.want {
				t.Errorf("ScriptEnv %q, want %q", got, tc.want)
			}
		})
	}
}
