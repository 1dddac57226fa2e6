package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestDefaultSpoolDir(t *testing.T) {
	if got := Default().SpoolDir; got != "/var/spool/luamilter" {
		t.Errorf("default spool_dir %q, want /var/spool/luamilter", got)
	}
}

// TestPrepareSpoolDir runs the start-time checks of the spool directory
// over directories that are missing, fine, unsafe or unusable.
func TestPrepareSpoolDir(t *testing.T) {
	mkdir := func(mode os.FileMode) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			// Chmod, not Mkdir's mode, which the umask would trim.
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name        string
		path        string // under the test's temp dir
		setup       func(t *testing.T, dir string)
		rootCan     bool // root passes the check anyway: skip as root
		wantErr     []string
		wantCreated bool
	}{
		{name: "missing", path: "spool", wantCreated: true},
		{name: "missing with parents", path: "var/spool/luamilter", wantCreated: true},
		{name: "missing under a restrictive umask", path: "spool", wantCreated: true, setup: func(t *testing.T, dir string) {
			old := syscall.Umask(0o277)
			t.Cleanup(func() { syscall.Umask(old) })
		}},
		{name: "private", path: "spool", setup: mkdir(0o700)},
		{name: "group readable", path: "spool", setup: mkdir(0o750)},
		{name: "group writable", path: "spool", setup: mkdir(0o770),
			wantErr: []string{"writable by other users (mode 0770)", "chmod 0700"}},
		{name: "world writable", path: "spool", setup: mkdir(0o777),
			wantErr: []string{"writable by other users (mode 0777)", "chmod 0700"}},
		{name: "like /tmp", path: "spool", setup: mkdir(0o777 | os.ModeSticky),
			wantErr: []string{"writable by other users (mode 0777)"}},
		{name: "a file", path: "spool", setup: func(t *testing.T, dir string) {
			if err := os.WriteFile(dir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantErr: []string{"is not a directory"}},
		{name: "not writable", path: "spool", setup: mkdir(0o500), rootCan: true,
			wantErr: []string{"write a file in", "permission denied", "--spool-dir"}},
		{name: "parent not writable", path: "ro/spool", rootCan: true, setup: func(t *testing.T, dir string) {
			mkdir(0o500)(t, filepath.Dir(dir))
		}, wantErr: []string{"create", "permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rootCan && os.Geteuid() == 0 {
				t.Skip("root may write anywhere")
			}
			dir := filepath.Join(t.TempDir(), tt.path)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			st, err := prepareSpoolDir(dir)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("accepted")
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				if !strings.Contains(err.Error(), dir) {
					t.Errorf("error %q does not name the directory", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.created != tt.wantCreated {
				t.Errorf("created %v, want %v", st.created, tt.wantCreated)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCreated && fi.Mode().Perm() != 0o700 {
				t.Errorf("created with mode %04o, want 0700", fi.Mode().Perm())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left in the spool directory: %v", entries)
			}
		})
	}
}

// TestStartSweepsStaleSpoolFiles starts a daemon on a spool directory
// holding a crashed process's files among others, and checks that only
// the spool files go, that the count is logged, and that a reload
// neither sweeps nor moves the spool directory.
func TestStartSweepsStaleSpoolFiles(t *testing.T) {
	e := startDaemon(t, policyConfig, map[string]string{
		"policy.lua":                genScript("{{dir}}/events.log", 1, "true"),
		"luamilter-spool-1234.eml":  "a body of a crashed process",
		"luamilter-spool-98765.eml": "another",
		"luamilter-spool-1.eml.txt": "not a spool file",
		"mail.eml":                  "not a spool file either",
	})
	for name, want := range map[string]bool{"luamilter-spool-1234.eml": false, "luamilter-spool-98765.eml": false,
		"luamilter-spool-1.eml.txt": true, "mail.eml": true, "policy.lua": true} {
		if _, err := os.Stat(filepath.Join(e.dir, name)); (err == nil) != want {
			t.Errorf("%s: exists %v after start, want %v", name, err == nil, want)
		}
	}
	if !strings.Contains(e.logs.String(), "stale_files_removed=2") {
		t.Errorf("the start log does not count 2 removed files:\n%s", e.logs.String())
	}

	// A file that appears while serving may be a live session's: a
	// reload must leave it.
	live := filepath.Join(e.dir, "luamilter-spool-555.eml")
	writeFile(t, live, "a body being received")
	e.writeConfig(strings.Replace(policyConfig, `spool_dir = "{{dir}}"`, `spool_dir = "{{dir}}/elsewhere"`, 1))
	res, err := e.d.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("reload removed a spool file: %v", err)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "spool_dir changed; it takes effect at the next restart") {
		t.Errorf("warnings %q, want one about spool_dir", res.Warnings)
	}
	if got := e.d.Config().SpoolDir; got != e.dir {
		t.Errorf("spool_dir %q after reload, want the old %q", got, e.dir)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "elsewhere")); err == nil {
		t.Error("reload created the new spool directory")
	}
}

// TestStartRefusesUnsafeSpoolDir checks that Start checks the spool
// directory before it opens any socket.
func TestStartRefusesUnsafeSpoolDir(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(spool, 0o777); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "policy.lua")
	if err := os.WriteFile(script, []byte("msys.registerModule('m', {})\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Scripts = []Script{{Path: script}}
	cfg.Listen = []string{"unix:" + filepath.Join(dir, "milter.sock")}
	cfg.ControlSocket = "none"
	cfg.SpoolDir = spool
	d, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	err = d.Start()
	if err == nil || !strings.Contains(err.Error(), "chmod 0700 "+spool) {
		t.Fatalf("Start: %v, want a refusal suggesting chmod 0700", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "milter.sock")); err == nil {
		t.Error("the milter socket was opened before the spool directory was checked")
	}
}
