package milter

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// SocketOptions control the file of a unix listener so that the MTA's
// user (Postfix's smtpd runs as "postfix") can connect.
type SocketOptions struct {
	Mode  os.FileMode // 0 leaves the umask's choice
	Owner string      // "user", "user:group" or ":group"; empty keeps ours
}

// Listen opens a listener from a milter socket spec: "inet:HOST:PORT",
// "inet6:[HOST]:PORT", "PORT@HOST" (Sendmail style) or "unix:/path".
// A stale unix socket file is replaced.
func Listen(spec string, opts SocketOptions) (net.Listener, error) {
	network, addr, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	if network != "unix" {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", spec, err)
		}
		return ln, nil
	}
	if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.Dial("unix", addr); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: socket is in use by another process", spec)
		}
		os.Remove(addr)
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", spec, err)
	}
	if err := applySocketOptions(addr, opts); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen %s: %w", spec, err)
	}
	return ln, nil
}

// ParseSpec splits a milter socket spec into a Go network and address.
func ParseSpec(spec string) (network, addr string, err error) {
	kind, rest, ok := strings.Cut(spec, ":")
	switch {
	case ok && (kind == "unix" || kind == "local"):
		if rest == "" {
			return "", "", fmt.Errorf("socket spec %q: empty path", spec)
		}
		return "unix", rest, nil
	case ok && (kind == "inet" || kind == "inet6"):
		if _, _, err := net.SplitHostPort(rest); err != nil {
			return "", "", fmt.Errorf("socket spec %q: %w", spec, err)
		}
		return "tcp", rest, nil
	case strings.Contains(spec, "@"):
		port, host, _ := strings.Cut(spec, "@")
		return "tcp", net.JoinHostPort(host, port), nil
	}
	return "", "", fmt.Errorf("socket spec %q: want inet:HOST:PORT or unix:/path", spec)
}

func applySocketOptions(path string, opts SocketOptions) error {
	if opts.Owner != "" {
		uid, gid := -1, -1
		name, group, _ := strings.Cut(opts.Owner, ":")
		if name != "" {
			u, err := user.Lookup(name)
			if err != nil {
				return fmt.Errorf("socket owner: %w", err)
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
		if group != "" {
			g, err := user.LookupGroup(group)
			if err != nil {
				return fmt.Errorf("socket group: %w", err)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
		if err := os.Chown(path, uid, gid); err != nil {
			return fmt.Errorf("socket owner: %w", err)
		}
	}
	if opts.Mode != 0 {
		if err := os.Chmod(path, opts.Mode); err != nil {
			return fmt.Errorf("socket mode: %w", err)
		}
	}
	return nil
}
