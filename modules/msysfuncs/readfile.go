package msysfuncs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func (l *Library) luaReadFile(L *lua.LState) int {
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
func (l *Library) ReadFile(name string) (string, error) {
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
	f, err := root.Open(rel)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s: is a directory", name)
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

// allowedDir returns the resolved ReadDirs entry containing path and the
// path relative to it.
func (l *Library) allowedDir(path string) (dir, rel string, ok bool) {
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
