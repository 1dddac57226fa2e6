package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/luart"
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

// startOffline serves eng (a policy engine, or one wrapped) on a fresh socket in a private directory, which
// is also the spool directory.
func startOffline(eng milter.Backend, needs func() milter.Needs) (*offlineServer, error) {
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
	srv := milter.NewServer(milter.Config{Backend: eng, Needs: needs, Macros: milter.DefaultMacros, SpoolDir: dir})
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

// offlineEngine builds the engine `test` and `replay` play against, from
// the same libraries, scripts and engine settings serve would use, keeping
// jobs idle Lua threads. done closes it and the libraries.
func offlineEngine(c *cli.Context, jobs int) (eng *policy.Engine, done func(), err error) {
	off, err := offlineRuntime(c)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			off.mods.Close()
		}
	}()
	if len(off.cfg.Scripts) == 0 {
		return nil, nil, cli.Exit("no policy script: give --script FILE or a config file with [[script]] entries", 2)
	}
	ecfg, err := daemon.EngineConfig(off.cfg, off.log)
	if err != nil {
		return nil, nil, err
	}
	ecfg.Accounting = off.mods.Audit
	ecfg.Regex = off.mods.PCRE
	off.rt.PoolSize = jobs
	rt, err := luart.New(off.rt)
	if err != nil {
		return nil, nil, cli.Exit(err.Error(), 1)
	}
	eng, err = policy.NewEngine(context.Background(), rt, ecfg)
	if err != nil {
		return nil, nil, cli.Exit(err.Error(), 1)
	}
	return eng, func() { eng.Close(context.Background()); off.mods.Close() }, nil
}
