package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReload measures one reload of the example policy: compile,
// build the first Lua state, run init and swap.
func BenchmarkReload(b *testing.B) {
	dir := b.TempDir()
	src, err := os.ReadFile("../examples/policy.lua")
	if err != nil {
		b.Fatal(err)
	}
	script := filepath.Join(dir, "policy.lua")
	if err := os.WriteFile(script, src, 0o644); err != nil {
		b.Fatal(err)
	}
	cfg := Default()
	cfg.Scripts = []Script{{Path: script}}
	cfg.ControlSocket = "none"
	d, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
