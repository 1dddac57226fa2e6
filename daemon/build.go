package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/luamilter/luamilter/milter"
)

// NewLogger builds the slog logger cfg asks for, writing to w. Its level
// is the returned LevelVar, which a reload may change (Options.Level).
func NewLogger(cfg Config, w io.Writer) (*slog.Logger, *slog.LevelVar, error) {
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	lv := &slog.LevelVar{}
	lv.Set(level)
	opts := &slog.HandlerOptions{Level: lv}
	switch cfg.LogFormat {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), lv, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), lv, nil
	}
	return nil, nil, fmt.Errorf("log format %q: want text or json", cfg.LogFormat)
}

func parseLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return level, nil
}

// socketOptions are the unix milter socket's mode and owner.
func socketOptions(cfg Config) (milter.SocketOptions, error) {
	mode, err := parseSocketMode(cfg.SocketMode)
	if err != nil {
		return milter.SocketOptions{}, err
	}
	return milter.SocketOptions{Owner: cfg.SocketOwner, Mode: mode}, nil
}

// parseSocketMode reads an octal permission mode; "" is 0, which leaves
// the umask's choice. Higher bits (setuid, sticky) mean nothing on a
// socket, so they are refused as a likely typo.
func parseSocketMode(m string) (os.FileMode, error) {
	if m == "" {
		return 0, nil
	}
	mode, err := strconv.ParseUint(m, 8, 32)
	if err != nil || mode > 0o777 {
		return 0, fmt.Errorf("socket mode %q: want an octal mode like 0660", m)
	}
	return os.FileMode(mode), nil
}
