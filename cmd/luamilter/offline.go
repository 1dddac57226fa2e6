package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/luamilter/luamilter/milter"
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
