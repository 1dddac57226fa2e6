package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Files are named record-YYYYMMDDTHH-NNNNNN.jsonl (UTC hour, sequence
// number), so their names sort oldest first.
const (
	filePrefix = "record-"
	fileSuffix = ".jsonl"
)

// Writer appends records to hourly files in a directory, one JSON object
// a line. A file is also rotated when it reaches a quarter of the bound,
// and the oldest files are removed so that the directory's record files
// stay within maxBytes. The directory is created 0700, the files 0600.
// A Writer is safe for concurrent use.
type Writer struct {
	dir      string
	maxBytes int64
	segment  int64

	mu      sync.Mutex
	f       *os.File
	hour    string
	size    int64     // of f
	old     []oldFile // closed files, oldest first
	oldSize int64
	seq     int
}

type oldFile struct {
	path string
	size int64
}

// OpenWriter opens dir for recording, keeping the record files already
// there (counted toward maxBytes).
func OpenWriter(dir string, maxBytes int64) (*Writer, error) {
	if maxBytes <= 0 {
		return nil, errors.New("record: the size bound must be greater than 0")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	w := &Writer{dir: dir, maxBytes: maxBytes, segment: max(maxBytes/4, 1)}
	files, err := Files(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		w.old = append(w.old, oldFile{p, fi.Size()})
		w.oldSize += fi.Size()
		var seq int
		if _, err := fmt.Sscanf(strings.TrimSuffix(filepath.Base(p)[len(filePrefix)+12:], fileSuffix), "%d", &seq); err == nil && seq > w.seq {
			w.seq = seq
		}
	}
	return w, nil
}

// Files lists the record files in dir, oldest first.
func Files(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, filePrefix) && strings.HasSuffix(n, fileSuffix) && len(n) > len(filePrefix)+12 {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Write appends r. A record larger than the whole bound is dropped.
func (w *Writer) Write(r *Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	n := int64(len(line))
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > w.maxBytes {
		return fmt.Errorf("record: a %d-byte record exceeds the %d-byte bound; dropped", n, w.maxBytes)
	}
	hour := r.Time.UTC().Format("20060102T15")
	if w.f != nil && (hour != w.hour || w.size+n > w.segment) {
		w.rotate()
	}
	// Make room: oldest files first, then the current one.
	for w.oldSize+w.size+n > w.maxBytes {
		if len(w.old) == 0 {
			w.rotate()
			continue
		}
		os.Remove(w.old[0].path)
		w.oldSize -= w.old[0].size
		w.old = w.old[1:]
	}
	if w.f == nil {
		w.seq++
		w.hour = hour
		p := filepath.Join(w.dir, fmt.Sprintf("%s%s-%06d%s", filePrefix, hour, w.seq, fileSuffix))
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("record: %w", err)
		}
		w.f, w.size = f, 0
	}
	m, err := w.f.Write(line)
	w.size += int64(m)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// rotate closes the current file, if any, and counts it as old.
func (w *Writer) rotate() {
	if w.f == nil {
		return
	}
	w.f.Close()
	w.old = append(w.old, oldFile{w.f.Name(), w.size})
	w.oldSize += w.size
	w.f, w.size = nil, 0
}

// Close closes the current file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.rotate()
	return err
}

// ReadDir reads every record in dir's record files, oldest first. Lines
// that are not a record (a line cut short by a crash) are counted in bad
// and skipped; so are records of a newer format.
func ReadDir(dir string) (recs []*Record, bad int, err error) {
	files, err := Files(dir)
	if err != nil {
		return nil, 0, err
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, 0, fmt.Errorf("record: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<30)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var r Record
			if json.Unmarshal(line, &r) != nil || r.Format != Format {
				bad++
				continue
			}
			recs = append(recs, &r)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("record %s: %w", p, err)
		}
	}
	return recs, bad, nil
}
