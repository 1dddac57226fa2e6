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

func control(c *cli.Context, cmd string) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if cfg.ControlSocket == "" || cfg.ControlSocket == "none" {
		return cli.Exit("the control socket is turned off; send SIGHUP to reload", 2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("timeout"))
	defer cancel()
	out, err := daemon.Control(ctx, cfg.ControlSocket, cmd)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%s: %v", cmd, err), 1)
	}
	fmt.Fprintln(c.App.Writer, out)
	return nil
}
