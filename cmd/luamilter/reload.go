package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
)

func controlFlags() []cli.Flag {
	return []cli.Flag{
		configFlag(),
		controlSocketFlag(),
		&cli.DurationFlag{Name: "timeout", Value: time.Minute, Usage: "how long to wait for the daemon's answer"},
	}
}

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:  "reload",
		Usage: "make the running daemon re-read its config file and recompile its scripts",
		Description: "Talks to `luamilter serve` through its control socket (taken from --control-socket,\n" +
			"else the config file's control_socket, else $LUAMILTER_CONTROL_SOCKET, else the default).\n" +
			"Prints the new generation, or the error (file:line) and exits 1; after an error the\n" +
			"daemon keeps running the scripts it had.",
		Flags:  controlFlags(),
		Action: func(c *cli.Context) error { return control(c, "reload") },
	}
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:   "status",
		Usage:  "show the running daemon's script generation, modules and sessions",
		Flags:  controlFlags(),
		Action: func(c *cli.Context) error { return control(c, "status") },
	}
}

func controlCommand() *cli.Command {
	return &cli.Command{
		Name:      "control",
		Usage:     "run a console command the running daemon's scripts registered with msys.registerControl",
		ArgsUsage: "NAME [ARGS...]",
		Description: "Runs the function a script registered with msys.registerControl(NAME, fn) in the running\n" +
			"`luamilter serve`, through its control socket. fn gets cc.argc (the words, NAME included)\n" +
			"and cc.argv[0] = NAME, cc.argv[1..] = ARGS, as on Momentum's ec_console. Prints what fn\n" +
			"printed and returned; on a script error or an unknown NAME (the error lists the registered\n" +
			"ones) prints the error and exits 1. Put flags before NAME; \"--\" ends them.",
		Flags: controlFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.Exit("control: want a command NAME (see `luamilter control --help`)", 2)
			}
			return send(c, "control", func(ctx context.Context, path string) (string, error) {
				return daemon.RunControl(ctx, path, c.Args().First(), c.Args().Tail())
			})
		},
	}
}

func control(c *cli.Context, cmd string) error {
	return send(c, cmd, func(ctx context.Context, path string) (string, error) {
		return daemon.Control(ctx, path, cmd)
	})
}

// send resolves the control socket, runs do on it and prints the answer.
func send(c *cli.Context, cmd string, do func(ctx context.Context, path string) (string, error)) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if cfg.ControlSocket == "" || cfg.ControlSocket == "none" {
		return cli.Exit("the control socket is turned off; send SIGHUP to reload", 2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("timeout"))
	defer cancel()
	out, err := do(ctx, cfg.ControlSocket)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%s: %v", cmd, err), 1)
	}
	// A console command may print nothing; an empty line would only
	// get in the way of scripts reading its output.
	if out != "" || cmd != "control" {
		fmt.Fprintln(c.App.Writer, out)
	}
	return nil
}
