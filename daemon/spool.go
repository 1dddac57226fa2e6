package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/luamilter/luamilter/milter"
)

// DefaultSpoolDir is where message bodies over spool_threshold are
// buffered unless the configuration says otherwise. A directory of its
// own rather than /tmp: the bodies are private mail, and the files a
// crashed process leaves there can be told apart and swept at start.
const DefaultSpoolDir = "/var/spool/luamilter"

// spoolDirState is what prepareSpoolDir found and did.
type spoolDirState struct {
	created bool // the directory did not exist and was made
	swept   int  // stale spool files removed
	// sweepErr lists the stale files that could not be removed; they
	// don't stop the daemon, a later start tries again.
	sweepErr error
}

// prepareSpoolDir makes dir ready to take spool files: it creates it
// (mode 0700) when missing, checks that it is a directory we can write
// and that no other user can, and removes the spool files a luamilter
// that is gone left in it. Only Start calls it: sessions are not yet
// served, so every spool file not locked by another process is stale. A
// reload must not, as its sessions' files are live.
func prepareSpoolDir(dir string) (spoolDirState, error) {
	var st spoolDirState
	if dir == "" {
		return st, errors.New("spool_dir is empty")
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		// The parents are ordinary directories others may traverse;
		// only the spool directory itself is private.
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return st, spoolDirError(dir, "create", err)
		}
		switch err := os.Mkdir(dir, 0o700); {
		case err == nil:
			st.created = true
			// The umask may have taken bits we need; it can't have added any.
			if err := os.Chmod(dir, 0o700); err != nil {
				return st, spoolDirError(dir, "chmod 0700", err)
			}
		case !errors.Is(err, fs.ErrExist):
			return st, spoolDirError(dir, "create", err)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return st, spoolDirError(dir, "stat", err)
	}
	if !fi.IsDir() {
		return st, fmt.Errorf("spool_dir %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return st, fmt.Errorf("spool_dir %s is writable by other users (mode %04o): they could read or replace message bodies; run chmod 0700 %s or choose another spool_dir",
			dir, perm, dir)
	}
	probe, err := os.CreateTemp(dir, ".luamilter-probe-*")
	if err != nil {
		return st, spoolDirError(dir, "write a file in", err)
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return st, spoolDirError(dir, "remove a file in", err)
	}
	st.swept, st.sweepErr = milter.SweepSpoolDir(dir)
	return st, nil
}

func spoolDirError(dir, what string, err error) error {
	hint := ""
	if errors.Is(err, fs.ErrPermission) {
		hint = " (create it for luamilter's user with mode 0700, or choose another spool_dir / --spool-dir)"
	}
	return fmt.Errorf("spool_dir %s: %s: %w%s", dir, what, err, hint)
}
