package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/luamilter/luamilter/milter"
)

// The control socket speaks one command per connection: the client
// writes a line ("reload", "status", or "control" followed by a JSON
// array of the command name and its arguments, so that arguments may hold
// spaces and newlines), the daemon answers with lines and closes. The
// first answer line starts with "ok" or "error"; a control command's
// output follows an "ok" line of its own.

const controlTimeout = 2 * time.Minute

// openControl listens on the control socket (mode 0600, so only the
// daemon's user and root can reload). The default path is optional: if
// its directory can't be made the daemon runs without it (SIGHUP still
// reloads). An explicitly configured path must work.
func (d *Daemon) openControl(path string) error {
	if path == "" || path == "none" {
		return nil
	}
	var ln net.Listener
	err := os.MkdirAll(filepath.Dir(path), 0o750)
	if err == nil {
		ln, err = milter.Listen("unix:"+path, milter.SocketOptions{Mode: 0o600})
	}
	if err != nil {
		if path == DefaultControlSocket && errors.Is(err, fs.ErrPermission) {
			d.log.Warn("no control socket: `luamilter reload` won't work, SIGHUP will", "path", path, "err", err)
			return nil
		}
		return fmt.Errorf("control socket: %w", err)
	}
	d.control, d.ctlPath = ln, path
	d.log.Info("control socket", "path", path)
	return nil
}

func (d *Daemon) serveControl() {
	for {
		c, err := d.control.Accept()
		if err != nil {
			return
		}
		go d.handleControl(c)
	}
}

func (d *Daemon) handleControl(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(controlTimeout))
	line, err := bufio.NewReader(io.LimitReader(c, maxControlLine)).ReadString('\n')
	if err != nil && line == "" {
		return
	}
	cmd, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch cmd {
	case "reload":
		res, err := d.Reload(context.Background())
		if err != nil {
			fmt.Fprintf(c, "error reload failed, generation %d stays in use:\n%s\n", d.eng.Generation(), err)
			return
		}
		fmt.Fprintf(c, "ok generation %d, modules %s\n", res.Generation, strings.Join(res.Modules, ", "))
		for _, w := range res.Warnings {
			fmt.Fprintf(c, "warning: %s\n", w)
		}
	case "status":
		fmt.Fprintf(c, "ok generation %d, modules %s, %d session(s) open, %d served\n", d.eng.Generation(),
			strings.Join(d.eng.Runtime().ModuleNames(), ", "), d.srv.OpenSessions(), d.srv.TotalSessions())
	case "control":
		var argv []string
		if err := json.Unmarshal([]byte(rest), &argv); err != nil || len(argv) == 0 {
			fmt.Fprintf(c, "error control: want a JSON array of the command name and its arguments\n")
			return
		}
		out, err := d.eng.Control(context.Background(), argv[0], argv[1:])
		if err != nil {
			fmt.Fprintf(c, "error %s\n", err)
			return
		}
		fmt.Fprintf(c, "ok\n")
		if out != "" {
			fmt.Fprintf(c, "%s\n", out)
		}
	default:
		fmt.Fprintf(c, "error unknown command %q: want reload, status or control\n", cmd)
	}
}

// maxControlLine bounds a command line; a control command's arguments
// make it longer than reload's.
const maxControlLine = 64 << 10

// RunControl runs the console command name, registered by the daemon's
// scripts with msys.registerControl, through the control socket at path
// and returns its output; a failed or unknown command is an error.
func RunControl(ctx context.Context, path, name string, args []string) (string, error) {
	argv, err := json.Marshal(append([]string{name}, args...))
	if err != nil {
		return "", err
	}
	return Control(ctx, path, "control "+string(argv))
}

// Control sends cmd to the daemon's control socket at path and returns
// its answer without the leading "ok "; an "error" answer is returned
// as an error.
func Control(ctx context.Context, path, cmd string) (string, error) {
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "unix", path)
	if err != nil {
		return "", fmt.Errorf("control socket %s: %w (is luamilter serve running with this --control-socket?)", path, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := fmt.Fprintf(c, "%s\n", cmd); err != nil {
		return "", fmt.Errorf("control socket %s: %w", path, err)
	}
	out, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if err != nil {
		return "", fmt.Errorf("control socket %s: %w", path, err)
	}
	answer := strings.TrimRight(string(out), "\n")
	switch {
	case answer == "ok":
		return "", nil
	case strings.HasPrefix(answer, "ok\n"):
		return strings.TrimPrefix(answer, "ok\n"), nil
	case strings.HasPrefix(answer, "ok"):
		return strings.TrimPrefix(strings.TrimPrefix(answer, "ok"), " "), nil
	case strings.HasPrefix(answer, "error "):
		return "", errors.New(strings.TrimPrefix(answer, "error "))
	}
	return "", fmt.Errorf("control socket %s: unexpected answer %q", path, answer)
}
