package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// offlineServer is the real milter server on a private unix socket: what
// `luamilter test` plays transactions against, as an MTA would. Play may
// be called from several goroutines at once.
type offlineServer struct {
	dir, sock string
	srv       *milter.Server
}

// startOffline serves backend (eng, or eng wrapped) with st's server
// settings on a fresh socket in a private directory. The directory is
// also the spool directory, instead of spool_dir: a test run must not
// need, or leave files in, the daemon's.
func startOffline(st *daemon.Stack, backend milter.Backend, eng *policy.Engine) (*offlineServer, error) {
	dir, err := os.MkdirTemp("", "luamilter-test-")
	if err != nil {
		return nil, fmt.Errorf("offline server: %w", err)
	}
	sock := filepath.Join(dir, "milter.sock")
	ln, err := milter.Listen("unix:"+sock, milter.SocketOptions{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("offline server: %w", err)
	}
	cfg := st.ServerConfig(backend, eng)
	cfg.SpoolDir = dir
	srv := milter.NewServer(cfg)
	go srv.Serve(ln)
	return &offlineServer{dir: dir, sock: sock, srv: srv}, nil
}

// Play runs one SMTP session through the server.
func (o *offlineServer) Play(tx milter.Transaction) (*milter.Trace, error) {
	return milter.Play("unix", o.sock, tx)
}

// Close stops the server, letting sessions finish, and removes its
// directory.
func (o *offlineServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o.srv.Shutdown(ctx)
	os.RemoveAll(o.dir)
}

// offlineEngine builds the stack and engine `test` and `replay` play
// against from the configuration, as serve would, keeping jobs idle Lua
// threads. A configuration serve would refuse is refused (exit 2). done
// closes the engine and the stack.
func offlineEngine(c *cli.Context, jobs int) (st *daemon.Stack, eng *policy.Engine, done func(), err error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(cfg.Scripts) == 0 {
		return nil, nil, nil, cli.Exit("no policy script: give --script FILE or a config file with [[script]] entries", 2)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, cli.Exit(configProblems(err), 2)
	}
	if st, err = offlineStack(cfg, jobs); err != nil {
		return nil, nil, nil, err
	}
	if eng, err = st.Engine(context.Background()); err != nil {
		st.Close()
		return nil, nil, nil, cli.Exit(err.Error(), 1)
	}
	return st, eng, func() { eng.Close(context.Background()); st.Close() }, nil
}
