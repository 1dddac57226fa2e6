package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

func testCommand() *cli.Command {
	flags := append(runtimeFlags(),
		&cli.StringFlag{Name: "client-ip", Value: "192.0.2.1", Usage: "SMTP client address"},
		&cli.StringFlag{Name: "client-name", Value: "client.example.net", Usage: "SMTP client host name"},
		&cli.StringFlag{Name: "helo", Value: "client.example.net", Usage: "HELO/EHLO argument"},
		&cli.StringFlag{Name: "from", Value: "sender@example.org", Usage: "envelope sender"},
		&cli.StringSliceFlag{Name: "rcpt", Usage: "envelope recipient (repeatable)"},
		&cli.StringSliceFlag{Name: "macro", Usage: "extra milter macro `NAME=VALUE` (repeatable), e.g. {auth_authen}=alice"},
		&cli.StringFlag{Name: "queue-id", Value: "4ABCDEF123", Usage: "queue id the MTA would report"},
		&cli.StringFlag{Name: "negotiate", Value: "need", Usage: "need or all (see serve)"},
		&cli.BoolFlag{Name: "json", Usage: "print the outcome as one JSON object"},
	)
	return &cli.Command{
		Name:      "test",
		Usage:     "run one SMTP session offline through the real milter path and show what the MTA would be told",
		ArgsUsage: "[MESSAGE-FILE|-]",
		Flags:     flags,
		Action:    runTest,
	}
}

func runTest(c *cli.Context) error {
	off, err := offlineRuntime(c)
	if err != nil {
		return err
	}
	defer off.mods.Close()
	if len(off.cfg.Scripts) == 0 {
		return cli.Exit("no policy script: give --script FILE or a config file with [[script]] entries", 2)
	}
	ecfg, err := daemon.EngineConfig(off.cfg, off.log)
	if err != nil {
		return err
	}
	ecfg.Accounting = off.mods.Audit
	ecfg.Regex = off.mods.PCRE
	msg, err := readMessage(c)
	if err != nil {
		return err
	}
	tx := milter.Transaction{ClientIP: c.String("client-ip"), ClientName: c.String("client-name"), Helo: c.String("helo"),
		From: c.String("from"), Rcpts: c.StringSlice("rcpt"), Message: msg, QueueID: c.String("queue-id"), Macros: map[string]string{}}
	if len(tx.Rcpts) == 0 {
		tx.Rcpts = []string{"rcpt@example.com"}
	}
	for _, kv := range c.StringSlice("macro") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--macro %q: want NAME=VALUE", kv)
		}
		tx.Macros[k] = v
	}
	rt, err := luart.New(off.rt)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	eng, err := policy.NewEngine(context.Background(), rt, ecfg)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	trace, err := playOffline(eng, daemon.NeedsFunc(c.String("negotiate"), eng), tx)
	eng.Close(context.Background())
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(trace)
	}
	printTrace(c.App.Writer, trace)
	return nil
}

// playOffline starts the real milter server on a private unix socket and
// plays tx against it with a milter client.
func playOffline(eng *policy.Engine, needs func() milter.Needs, tx milter.Transaction) (*milter.Trace, error) {
	dir, err := os.MkdirTemp("", "luamilter-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "milter.sock")
	ln, err := milter.Listen("unix:"+sock, milter.SocketOptions{})
	if err != nil {
		return nil, err
	}
	srv := milter.NewServer(milter.Config{Backend: eng, Needs: needs, Macros: milter.DefaultMacros, SpoolDir: dir})
	go srv.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	return milter.Play("unix", sock, tx)
}

func readMessage(c *cli.Context) ([]byte, error) {
	switch arg := c.Args().First(); arg {
	case "":
		return []byte("From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: test\r\n\r\nHello.\r\n"), nil
	case "-":
		return io.ReadAll(os.Stdin)
	default:
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("message: %w", err)
		}
		return b, nil
	}
}

func printTrace(w io.Writer, tr *milter.Trace) {
	for _, s := range tr.Stages {
		if s.Stage == "header" && s.Action == "continue" {
			continue
		}
		line := fmt.Sprintf("%-8s %-28s %s", s.Stage, s.Arg, s.Action)
		if s.Reply != "" {
			line += "  " + strings.ReplaceAll(s.Reply, "\r\n", "\\r\\n")
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(w, "final: %s", tr.Final.Action)
	if tr.Final.Reply != "" {
		fmt.Fprintf(w, " %s", tr.Final.Reply)
	}
	fmt.Fprintln(w)
	if len(tr.Modifications) == 0 {
		fmt.Fprintln(w, "modifications: none")
		return
	}
	fmt.Fprintln(w, "modifications:")
	for _, m := range tr.Modifications {
		fmt.Fprintln(w, "  "+m)
	}
}
