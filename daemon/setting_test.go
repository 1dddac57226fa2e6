package daemon

import (
	"testing"
	"time"
)

func TestSettingForMsysConfig(t *testing.T) {
	cfg := Default()
	cfg.ScriptTimeout = 3 * time.Second
	cfg.Listen = []string{"inet:127.0.0.1:1", "unix:/x.sock"}
	cfg.DNS.Servers = []string{"127.0.0.1:53"}
	cfg.Scripts = []Script{{Path: "a.lua"}, {Path: "b.lua"}}
	cfg.Datasources = map[string]string{"db": "postgres://u:secret@h/db"}
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"script_timeout", "3s", true},
		{"script-timeout", "3s", true},
		{"listen", "inet:127.0.0.1:1,unix:/x.sock", true},
		{"dns.servers", "127.0.0.1:53", true},
		{"dns-server", "127.0.0.1:53", true},
		{"script", "a.lua,b.lua", true},
		{"datasources", "", false},
		{"dns", "", false},
		{"store.backend", "memory", true},
		{"no_such_setting", "", false},
	}
	for _, tc := range tests {
		got, ok := cfg.Setting(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Setting(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
