package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce lets an editor or a deploy tool finish writing (often
// several events: truncate, write, rename) before the reload starts.
const watchDebounce = 500 * time.Millisecond

// watcher reloads the daemon when a script file, a helper file the
// scripts loaded with require, or the config file changes. It watches
// the files' directories, because editors and deploy tools replace files
// by renaming, which a watch on the file itself would lose.
type watcher struct {
	d     *Daemon
	fw    *fsnotify.Watcher
	mu    sync.Mutex
	files map[string]bool
	dirs  map[string]bool
	done  chan struct{}
	once  sync.Once
}

func newWatcher(d *Daemon) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &watcher{d: d, fw: fw, files: map[string]bool{}, dirs: map[string]bool{}, done: make(chan struct{})}
	if err := w.set(d.Config(), d.eng.Runtime().HelperPaths()); err != nil {
		fw.Close()
		return nil, err
	}
	go w.loop()
	return w, nil
}

// set makes the watched files those of cfg, the helpers and the config
// file.
func (w *watcher) set(cfg Config, helpers []string) error {
	paths := append(cfg.ScriptPaths(), helpers...)
	if w.d.opts.ConfigFile != "" {
		paths = append(paths, w.d.opts.ConfigFile)
	}
	files := map[string]bool{}
	dirs := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		files[abs] = true
		dirs[filepath.Dir(abs)] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for dir := range dirs {
		if !w.dirs[dir] {
			if err := w.fw.Add(dir); err != nil {
				return fmt.Errorf("watch %s: %w", dir, err)
			}
		}
	}
	for dir := range w.dirs {
		if !dirs[dir] {
			w.fw.Remove(dir)
		}
	}
	w.files, w.dirs = files, dirs
	return nil
}

// update follows a reload that may have changed the script list.
func (w *watcher) update(cfg Config, helpers []string) {
	if err := w.set(cfg, helpers); err != nil {
		w.d.log.Warn("watch: could not follow the new script list", "err", err)
	}
}

func (w *watcher) watched(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.files[filepath.Clean(name)]
}

func (w *watcher) loop() {
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-w.done:
			if timer != nil {
				timer.Stop()
			}
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod || !w.watched(ev.Name) {
				continue
			}
			w.d.log.Debug("watch: file changed", "file", ev.Name, "op", ev.Op.String())
			if timer == nil {
				timer = time.NewTimer(watchDebounce)
			} else {
				timer.Reset(watchDebounce)
			}
			fire = timer.C
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.d.log.Warn("watch", "err", err)
		case <-fire:
			fire = nil
			w.d.log.Info("reload: a watched file changed")
			w.d.Reload(context.Background())
		}
	}
}

func (w *watcher) close() {
	w.once.Do(func() {
		close(w.done)
		w.fw.Close()
	})
}
