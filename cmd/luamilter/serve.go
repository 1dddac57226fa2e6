package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/milter"
)

func serveFlags() []cli.Flag {
	def := daemon.Default()
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "listen", Aliases: []string{"l"}, Value: cli.NewStringSlice(def.Listen...),
			Usage: "milter socket: inet:HOST:PORT, inet6:[HOST]:PORT or unix:/path (repeatable)"},
		&cli.StringFlag{Name: "socket-mode",
			Usage: "file mode of unix milter sockets, e.g. 0660"},
		&cli.StringFlag{Name: "socket-owner",
			Usage: "owner of unix milter sockets: user, user:group or :group (e.g. luamilter:postfix)"},
		controlSocketFlag(),
		&cli.StringFlag{Name: "metrics-listen",
			Usage: "`HOST:PORT` serving Prometheus /metrics and /healthz (off unless given)"},
		&cli.BoolFlag{Name: "pprof",
			Usage: "also serve Go's profiles under /debug/pprof/ on --metrics-listen"},
		&cli.BoolFlag{Name: "watch",
			Usage: "reload when a script file or the config file changes"},
		&cli.IntFlag{Name: "max-sessions", Value: def.MaxSessions,
			Usage: "concurrent sessions, at least 1; more wait briefly, then get " + replyStatus(milter.BusyReply())},
		&cli.StringFlag{Name: "spool-dir", Value: def.SpoolDir,
			Usage: "private `DIR` (created mode 0700 if missing) where bodies over --spool-threshold are buffered"},
		&cli.Int64Flag{Name: "spool-threshold", Value: def.SpoolThreshold,
			Usage: "body bytes kept in memory before spooling to disk (> 0)"},
		&cli.Int64Flag{Name: "max-message-size", Value: def.MaxMessageSize,
			Usage: "larger bodies get " + replyStatus(milter.OversizeReply()) + " (required: > 0)"},
		&cli.Int64Flag{Name: "memory-limit", Value: def.MemoryLimit,
			Usage: "heap bytes above which running scripts are stopped (0 = off)"},
		&cli.Int64Flag{Name: "gc-headroom", Value: def.GCHeadroom,
			Usage: "heap bytes the Go heap may grow past its live data before a collection (0 = Go's GOGC pace)"},
		&cli.IntFlag{Name: "lua-threads", Value: def.LuaThreads,
			Usage: "Lua threads sessions may hold at once (running Lua or waiting in a library call); more sessions wait (0 = max(4, 2 × cores))"},
		&cli.StringFlag{Name: "negotiate", Value: def.Negotiate,
			Usage: "need: ask the MTA only for events the scripts use; all: every event with a reply"},
		&cli.DurationFlag{Name: "shutdown-timeout", Value: def.ShutdownTimeout,
			Usage: "on SIGTERM, how long open sessions may finish before they are cut"},
		&cli.DurationFlag{Name: "read-timeout", Value: def.ReadTimeout,
			Usage: "how long one milter packet may take to arrive once it has begun"},
		&cli.DurationFlag{Name: "idle-timeout", Value: def.IdleTimeout,
			Usage: "how long a milter connection may wait for the MTA's next command"},
		&cli.StringFlag{Name: "record",
			Usage: "record each transaction (envelope, macros, headers, body, verdicts, changes) to `DIR` for `luamilter replay`"},
		&cli.Int64Flag{Name: "record-max-bytes", Value: def.RecordMaxBytes,
			Usage: "bound on the recording's size; the oldest files are removed first"},
		&cli.Float64Flag{Name: "record-sample", Value: def.RecordSample,
			Usage: "fraction (0 to 1) of transactions recorded"},
	}
}

// replyStatus is a reply's code and enhanced status code, "421 4.3.2":
// help texts name the reply from the value the milter sends, so the two
// can't disagree.
func replyStatus(v milter.Verdict) string {
	s := strconv.Itoa(v.Code)
	if f := strings.Fields(v.Text); len(f) > 0 {
		s += " " + f[0]
	}
	return s
}

func controlSocketFlag() cli.Flag {
	return &cli.StringFlag{Name: "control-socket", Value: daemon.DefaultControlSocket,
		Usage: "unix `PATH` of the control socket used by `luamilter reload` (mode 0600; \"none\" turns it off)"}
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the milter daemon",
		Description: "Serves the milter sockets until SIGTERM or SIGINT. Then it stops accepting, lets open\n" +
			"sessions finish for up to --shutdown-timeout, closes the connections of the rest without\n" +
			"a reply, runs every module's deinit() and exits 0; a second signal exits 1 at once.\n" +
			"The MTA treats a closed or refused milter connection as a milter failure: Postfix applies\n" +
			"milter_default_action (default tempfail: 451 4.7.1), Sendmail the filter's F= flag\n" +
			"(F=T tempfail, F=R reject, neither: the message passes unfiltered).\n\n" +
			"SIGHUP, `luamilter reload` and (with --watch) a changed file reload: the config file is\n" +
			"read again, every script is compiled into a new generation and every init() must return\n" +
			"true, else nothing changes. Open sessions finish on the scripts they began with.",
		Flags:  append(runtimeFlags(), serveFlags()...),
		Action: serve,
	}
}

func serve(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if err := cfg.Validate(); err != nil {
		return cli.Exit(configProblems(err), 2)
	}
	log, level, err := daemon.NewLogger(cfg, os.Stderr)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	milter.RouteProtocolWarnings(log)
	// Subscribe before building so a signal during init is not lost.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sig)
	d, err := daemon.New(cfg, daemon.Options{
		Log:        log,
		Load:       func() (daemon.Config, error) { return loadConfig(c) },
		ConfigFile: configPath(c),
		Level:      level,
	})
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if err := d.Start(); err != nil {
		d.Shutdown(context.Background())
		return cli.Exit(err.Error(), 1)
	}
	err = d.Run(context.Background(), sig)
	switch {
	case errors.Is(err, daemon.ErrForced):
		return cli.Exit("", 1)
	case err != nil:
		return cli.Exit(fmt.Sprintf("serve: %v", err), 1)
	}
	return nil
}
