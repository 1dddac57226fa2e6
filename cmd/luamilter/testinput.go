package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// testMessage is one message to play, with where it came from.
type testMessage struct {
	Name string // file, "file:N" for the Nth message of an mbox, "-" for stdin
	Data []byte
}

// defaultMessage is played when no message is given.
var defaultMessage = []byte("From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: test\r\n\r\nHello.\r\n")

// collectMessages expands the arguments of `luamilter test`: a file (an
// mbox when it begins with a "From " line), a directory (every file in
// it, recursively; a Maildir's cur and new), or "-" for standard input.
func collectMessages(args []string, stdin io.Reader) ([]testMessage, error) {
	var out []testMessage
	for _, arg := range args {
		if arg == "-" {
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("standard input: %w", err)
			}
			out = append(out, splitFile("-", b)...)
			continue
		}
		st, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("message: %w", err)
		}
		if !st.IsDir() {
			b, err := os.ReadFile(arg)
			if err != nil {
				return nil, fmt.Errorf("message: %w", err)
			}
			out = append(out, splitFile(arg, b)...)
			continue
		}
		msgs, err := collectDir(arg)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// collectDir reads every message under dir in name order. Hidden files
// and directories are skipped, and so is a Maildir's tmp, whose files
// are still being written.
func collectDir(dir string) ([]testMessage, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if d.Name() == "tmp" && isMaildir(filepath.Dir(path)) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("message directory: %w", err)
	}
	sort.Strings(files)
	var out []testMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("message: %w", err)
		}
		out = append(out, splitFile(f, b)...)
	}
	return out, nil
}

// isMaildir reports whether dir has Maildir's cur, new and tmp.
func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || !st.IsDir() {
			return false
		}
	}
	return true
}

// splitFile returns the messages of one file: several for an mbox, else
// the file itself.
func splitFile(name string, b []byte) []testMessage {
	if !bytes.HasPrefix(b, []byte("From ")) {
		return []testMessage{{Name: name, Data: b}}
	}
	msgs := splitMbox(b)
	out := make([]testMessage, len(msgs))
	for i, m := range msgs {
		out[i] = testMessage{Name: fmt.Sprintf("%s:%d", name, i+1), Data: m}
	}
	return out
}

// splitMbox splits an mbox at its "From " separator lines (at the start
// or after a blank line), drops them, and undoes the quoting of body
// lines that began with "From " (">From " to "From ", one ">" removed,
// as mboxrd writes them; mboxo's single ">" reads the same).
func splitMbox(b []byte) [][]byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	var out [][]byte
	var cur []byte
	started := false
	prevBlank := true
	for _, l := range lines {
		if prevBlank && bytes.HasPrefix(l, []byte("From ")) {
			if started {
				out = append(out, trimSeparator(cur))
			}
			cur, started, prevBlank = nil, true, false
			continue
		}
		if q := bytes.TrimLeft(l, ">"); len(q) < len(l) && bytes.HasPrefix(q, []byte("From ")) {
			l = l[1:]
		}
		cur = append(cur, l...)
		prevBlank = len(bytes.TrimRight(l, "\r\n")) == 0
	}
	if started {
		out = append(out, trimSeparator(cur))
	}
	return out
}

// trimSeparator drops the blank line mbox puts before the next "From ".
func trimSeparator(m []byte) []byte {
	switch {
	case bytes.HasSuffix(m, []byte("\r\n\r\n")):
		return m[:len(m)-2]
	case bytes.HasSuffix(m, []byte("\n\n")):
		return m[:len(m)-1]
	}
	return m
}
