package cidr

import (
	"context"
	"fmt"
	"net/netip"
	"os"
)

// Entry is one line of a CIDR table: a prefix and the value a query
// returns for addresses inside it, or an exclusion that makes addresses
// inside it (and not in a longer prefix) match nothing.
type Entry struct {
	Prefix  netip.Prefix
	Value   string
	Exclude bool
}

// Source produces the entries of a table. File-backed sources are built
// in; a database-backed one can be supplied through Options.Datasource.
type Source interface {
	Load(ctx context.Context) ([]Entry, error)
}

// Versioner is implemented by sources that can tell cheaply whether their
// data changed; the refresher then reloads only when Version changes.
// Sources without it are reloaded every refresh interval.
type Versioner interface {
	Version(ctx context.Context) (string, error)
}

// Format names a file format understood by FileSource.
type Format string

// File formats.
const (
	// FormatRbldnsd is the rbldnsd ip4set/ip4tset format, with IPv6
	// entries written as "addr :A:TXT" (space before the colon).
	FormatRbldnsd Format = "rbldnsd"
	// FormatList is one prefix per line, optionally followed by a value.
	FormatList Format = "list"
)

// FileSource reads a table from a local file.
type FileSource struct {
	Path   string
	Format Format
	// Value selects the rbldnsd column: "a" (default) or "txt".
	Value string
	// Warn, if set, is called for each malformed line skipped.
	Warn func(err error)
}

// Load implements Source.
func (s *FileSource) Load(ctx context.Context) ([]Entry, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", s.Path, err)
	}
	defer f.Close()
	p := parser{format: s.Format, txt: s.Value == "txt", warn: s.Warn}
	entries, err := p.parse(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", s.Path, err)
	}
	return entries, nil
}

// Version implements Versioner with the file's modification time and size.
func (s *FileSource) Version(context.Context) (string, error) {
	fi, err := os.Stat(s.Path)
	if err != nil {
		return "", err // *fs.PathError already names the file
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size()), nil
}

// emptySource is the source of type 'empty' tables.
type emptySource struct{}

func (emptySource) Load(context.Context) ([]Entry, error) { return nil, nil }
