package msysfuncs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	lua "github.com/yuin/gopher-lua"
)

// reader is msys.readfile's confinement to Options.ReadDirs.
type reader struct {
	opts Options
}

func newReader(opts Options) *reader {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	return &reader{opts: opts}
}

func (l *reader) luaReadFile(L *lua.LState) int {
	data, err := l.ReadFile(L.CheckString(1))
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(lua.LString(data))
	return 1
}

// errDenied is returned for every path outside Options.ReadDirs.
var errDenied = errors.New("permission denied")

// ReadFile reads name if it lies below one of Options.ReadDirs.
func (l *reader) ReadFile(name string) (string, error) {
	if scheme, rest, ok := strings.Cut(name, "://"); ok && !strings.ContainsRune(scheme, '/') {
		if scheme != "file" {
			return "", fmt.Errorf("unsupported URI scheme %q", scheme)
		}
		name = rest
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		// Report a missing file only where reading is allowed, so the
		// error does not reveal what exists elsewhere.
		if _, _, ok := l.allowedDir(abs); !ok {
			return "", fmt.Errorf("%w: %s", errDenied, name)
		}
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	dir, rel, ok := l.allowedDir(resolved)
	if !ok {
		return "", fmt.Errorf("%w: %s", errDenied, name)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	defer root.Close()
	// Only regular files: opening a FIFO blocks until a writer comes and
	// reading a device may never end, either way past the script's
	// deadline. The mode is checked before opening, so a device is never
	// opened, and again on the opened file, which O_NONBLOCK keeps from
	// blocking when a FIFO was swapped in between.
	if fi, err := root.Stat(rel); err != nil {
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	} else if err := regular(name, fi); err != nil {
		return "", err
	}
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	if err := regular(name, fi); err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(f, l.opts.MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	if int64(len(data)) > l.opts.MaxFileSize {
		return "", fmt.Errorf("%s: file larger than %d bytes", name, l.opts.MaxFileSize)
	}
	return string(data), nil
}

// regular refuses anything but a regular file: directories, FIFOs,
// devices and sockets.
func regular(name string, fi fs.FileInfo) error {
	switch {
	case fi.Mode().IsRegular():
		return nil
	case fi.IsDir():
		return fmt.Errorf("%s: is a directory", name)
	}
	return fmt.Errorf("%s: not a regular file", name)
}

// allowedDir returns the resolved ReadDirs entry containing path and the
// path relative to it.
func (l *reader) allowedDir(path string) (dir, rel string, ok bool) {
	for _, d := range l.opts.ReadDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
		rel, err := filepath.Rel(abs, path)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		return abs, rel, true
	}
	return "", "", false
}

// unwrapPath drops the *fs.PathError wrapper, whose path would repeat the
// name already in the message.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
