package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

func serveCommand() *cli.Command {
	flags := append(runtimeFlags(),
		&cli.StringSliceFlag{Name: "listen", Aliases: []string{"l"}, EnvVars: []string{"LUAMILTER_LISTEN"},
			Value: cli.NewStringSlice("inet:127.0.0.1:8891"),
			Usage: "milter socket: inet:HOST:PORT or unix:/path (repeatable)"},
		&cli.StringFlag{Name: "socket-mode", EnvVars: []string{"LUAMILTER_SOCKET_MODE"},
			Usage: "file mode of unix sockets, e.g. 0660"},
		&cli.StringFlag{Name: "socket-owner", EnvVars: []string{"LUAMILTER_SOCKET_OWNER"},
			Usage: "owner of unix sockets: user, user:group or :group (e.g. luamilter:postfix)"},
		&cli.IntFlag{Name: "max-sessions", Value: 1000, EnvVars: []string{"LUAMILTER_MAX_SESSIONS"},
			Usage: "concurrent sessions; more wait briefly, then get 421 4.3.2"},
		&cli.StringFlag{Name: "spool-dir", Value: os.TempDir(), EnvVars: []string{"LUAMILTER_SPOOL_DIR"},
			Usage: "where bodies over --spool-threshold are buffered"},
		&cli.Int64Flag{Name: "spool-threshold", Value: 1 << 20, EnvVars: []string{"LUAMILTER_SPOOL_THRESHOLD"},
			Usage: "body bytes kept in memory before spooling to disk"},
		&cli.Int64Flag{Name: "max-message-size", Value: 50 << 20, EnvVars: []string{"LUAMILTER_MAX_MESSAGE_SIZE"},
			Usage: "larger bodies get 552 5.3.4 (0 = no limit)"},
		&cli.Int64Flag{Name: "memory-limit", Value: 1 << 30, EnvVars: []string{"LUAMILTER_MEMORY_LIMIT"},
			Usage: "heap bytes above which running scripts are stopped (0 = off)"},
		&cli.StringFlag{Name: "negotiate", Value: "need", EnvVars: []string{"LUAMILTER_NEGOTIATE"},
			Usage: "need: ask the MTA only for events the scripts use; all: every event with a reply"},
		&cli.DurationFlag{Name: "shutdown-timeout", Value: 30 * time.Second, EnvVars: []string{"LUAMILTER_SHUTDOWN_TIMEOUT"},
			Usage: "on SIGTERM, how long open sessions may finish"},
	)
	return &cli.Command{
		Name:   "serve",
		Usage:  "run the milter daemon",
		Flags:  flags,
		Action: serve,
	}
}

func serve(c *cli.Context) error {
	log, err := newLogger(c)
	if err != nil {
		return err
	}
	rcfg, mods, err := runtimeConfig(c, log)
	if err != nil {
		return err
	}
	defer mods.Close()
	if limit := c.Int64("memory-limit"); limit > 0 {
		rcfg.Brake = luart.NewBrake(uint64(limit), 50*time.Millisecond)
		defer rcfg.Brake.Close()
	}
	ecfg, err := engineConfig(c, log)
	if err != nil {
		return err
	}
	ecfg.Accounting = mods.Audit
	rt, err := luart.New(rcfg)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	ctx := context.Background()
	eng, err := policy.NewEngine(ctx, rt, ecfg)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	needs := eng.Needs
	switch c.String("negotiate") {
	case "need":
	case "all":
		needs = func() milter.Needs { return milter.Needs{All: true} }
	default:
		return fmt.Errorf("--negotiate %q: want need or all", c.String("negotiate"))
	}
	srv := milter.NewServer(milter.Config{
		Backend:        eng,
		Log:            log,
		Needs:          needs,
		Macros:         milter.DefaultMacros,
		MaxSessions:    c.Int("max-sessions"),
		SpoolDir:       c.String("spool-dir"),
		SpoolThreshold: c.Int64("spool-threshold"),
		MaxMessageSize: c.Int64("max-message-size"),
	})
	sockOpts, err := socketOptions(c)
	if err != nil {
		return err
	}
	var listeners []net.Listener
	for _, spec := range c.StringSlice("listen") {
		ln, err := milter.Listen(spec, sockOpts)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return cli.Exit(err.Error(), 1)
		}
		listeners = append(listeners, ln)
		log.Info("listening", "socket", spec, "modules", rt.ModuleNames())
	}
	errc := make(chan error, len(listeners))
	for _, ln := range listeners {
		go func(ln net.Listener) { errc <- srv.Serve(ln) }(ln)
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errc:
		if err != nil {
			return cli.Exit(fmt.Sprintf("serve: %v", err), 1)
		}
	case s := <-sig:
		log.Info("shutting down", "signal", s.String(), "open_sessions", srv.OpenSessions())
	}
	return shutdown(srv, eng, log, c.Duration("shutdown-timeout"), sig)
}

// shutdown stops accepting, lets sessions finish, runs deinit and exits;
// a second signal exits at once.
func shutdown(srv *milter.Server, eng *policy.Engine, log *slog.Logger, timeout time.Duration, sig chan os.Signal) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("sessions still open at shutdown timeout were cut; the MTA applies its milter_default_action", "err", err)
			srv.Close()
		}
		eng.Close(context.Background())
		close(done)
	}()
	select {
	case <-done:
		log.Info("stopped")
		return nil
	case s := <-sig:
		log.Warn("second signal: exiting now", "signal", s.String())
		return cli.Exit("", 1)
	}
}

func socketOptions(c *cli.Context) (milter.SocketOptions, error) {
	opts := milter.SocketOptions{Owner: c.String("socket-owner")}
	if m := c.String("socket-mode"); m != "" {
		mode, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return opts, fmt.Errorf("--socket-mode %q: want an octal mode like 0660", m)
		}
		opts.Mode = os.FileMode(mode)
	}
	return opts, nil
}
