package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/milter"
)

func testCommand() *cli.Command {
	flags := append(runtimeFlags(),
		&cli.StringFlag{Name: "client-ip", Value: "192.0.2.1", Usage: "SMTP client address"},
		&cli.StringFlag{Name: "client-name", Value: "client.example.net", Usage: "SMTP client host name"},
		&cli.StringFlag{Name: "helo", Value: "client.example.net", Usage: "HELO/EHLO argument"},
		&cli.StringFlag{Name: "from", Value: "sender@example.org", Usage: "envelope sender"},
		&cli.StringSliceFlag{Name: "rcpt", Usage: "envelope recipient (repeatable; default rcpt@example.com)"},
		&cli.StringSliceFlag{Name: "macro", Usage: "extra milter macro `NAME=VALUE` (repeatable), e.g. {auth_authen}=alice"},
		&cli.StringFlag{Name: "queue-id", Value: "4ABCDEF123", Usage: "queue id the MTA would report"},
		&cli.StringFlag{Name: "negotiate", Value: "need", Usage: "need or all (see serve)"},
		&cli.StringFlag{Name: "expect", Usage: "`ACTION` every message must get: accept, reject, tempfail, discard or quarantine"},
		&cli.StringSliceFlag{Name: "manifest", Usage: "TOML `FILE` of [[message]] entries with envelope, macros and expectations (repeatable)"},
		&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.NumCPU(), Usage: "messages played at once"},
		&cli.BoolFlag{Name: "json", Usage: "print the outcome as JSON"},
	)
	return &cli.Command{
		Name:      "test",
		Usage:     "play messages offline through the real milter path and show (or check) what the MTA would be told",
		ArgsUsage: "[MESSAGE-FILE|MBOX|MAILDIR|DIR|-]...",
		Description: "Each message runs one SMTP session through the milter server and the scripts, as from an MTA.\n" +
			"A file that begins with a \"From \" line is an mbox; a directory gives every file in it (a\n" +
			"Maildir its cur and new). With one message the stages are printed; with several, a table.\n" +
			"--expect and --manifest make it a CI step: exit 0 when every expectation holds, 1 otherwise,\n" +
			"with a diff for each miss. Without expectations it exits 1 only if a message could not be played.",
		Flags:  flags,
		Action: runTest,
	}
}

// testCase is one message to play with its envelope and expectation.
type testCase struct {
	Name    string
	Message []byte
	Tx      milter.Transaction
	Expect  expectation
}

// testResult is what became of a testCase.
type testResult struct {
	Case  testCase
	Trace *milter.Trace
	Err   error
	Diff  []string // "-expected" / "+got" lines; empty when the expectation held
}

func runTest(c *cli.Context) error {
	cases, err := testCases(c)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	jobs := max(1, min(c.Int("jobs"), len(cases)))
	st, eng, done, err := offlineEngine(c, jobs)
	if err != nil {
		return err
	}
	defer done()
	srv, err := startOffline(st, eng, eng)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	results := playAll(srv, cases, jobs, newProgress(c.App.ErrWriter, len(cases)))
	srv.Close()
	single := len(cases) == 1 && !c.IsSet("manifest")
	if err := report(c.App.Writer, results, single, c.Bool("json")); err != nil {
		return err
	}
	for _, r := range results {
		if r.Err != nil || len(r.Diff) > 0 {
			return cli.Exit("", 1)
		}
	}
	return nil
}

// testCases builds the cases from the arguments and manifests; the
// command line's envelope and --expect apply where a manifest entry
// gives none.
func testCases(c *cli.Context) ([]testCase, error) {
	base := testCase{Tx: milter.Transaction{ClientIP: c.String("client-ip"), ClientName: c.String("client-name"),
		Helo: c.String("helo"), From: c.String("from"), Rcpts: c.StringSlice("rcpt"), QueueID: c.String("queue-id"),
		Macros: map[string]string{}}}
	if len(base.Tx.Rcpts) == 0 {
		base.Tx.Rcpts = []string{"rcpt@example.com"}
	}
	for _, kv := range c.StringSlice("macro") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--macro %q: want NAME=VALUE", kv)
		}
		base.Tx.Macros[k] = v
	}
	if a := c.String("expect"); a != "" {
		if err := checkAction(a); err != nil {
			return nil, fmt.Errorf("--expect: %w", err)
		}
		base.Expect.Action = a
	}
	var cases []testCase
	for _, path := range c.StringSlice("manifest") {
		mc, err := loadManifest(path, base)
		if err != nil {
			return nil, err
		}
		cases = append(cases, mc...)
	}
	msgs, err := collectMessages(c.Args().Slice(), os.Stdin)
	if err != nil {
		return nil, err
	}
	if c.NArg() == 0 && len(cases) == 0 {
		msgs = []testMessage{{Name: "(built-in message)", Data: defaultMessage}}
	}
	for _, m := range msgs {
		tc := base
		tc.Name, tc.Message = m.Name, m.Data
		cases = append(cases, tc)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("no messages found in %s", strings.Join(c.Args().Slice(), " "))
	}
	return cases, nil
}

// playAll plays the cases on jobs workers; results keep the cases' order.
func playAll(srv *offlineServer, cases []testCase, jobs int, prog *progress) []testResult {
	results := make([]testResult, len(cases))
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = playCase(srv, cases[i])
				prog.step(results[i].Err != nil || len(results[i].Diff) > 0)
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	prog.finish()
	return results
}

func playCase(srv *offlineServer, tc testCase) testResult {
	tx := tc.Tx
	tx.Message = tc.Message
	tr, err := srv.Play(tx)
	r := testResult{Case: tc, Trace: tr, Err: err}
	if err == nil {
		r.Diff = diffExpectation(tc.Expect, tr)
	}
	return r
}

// finalAction is the outcome as --expect names it: an accepted message
// held by a quarantine change is "quarantine".
func finalAction(tr *milter.Trace) string {
	if tr.Final.Action == "accept" {
		for _, m := range tr.Modifications {
			if strings.HasPrefix(m, milter.Quarantine.String()+" ") {
				return milter.Quarantine.String()
			}
		}
	}
	return tr.Final.Action
}

// diffExpectation lists what differs from e, as "-expected"/"+got" lines.
func diffExpectation(e expectation, tr *milter.Trace) []string {
	var d []string
	if got := finalAction(tr); e.Action != "" && got != e.Action {
		d = append(d, "-action: "+e.Action, "+action: "+got)
	}
	if e.Reply != nil && *e.Reply != tr.Final.Reply {
		d = append(d, fmt.Sprintf("-reply: %q", *e.Reply), fmt.Sprintf("+reply: %q", tr.Final.Reply))
	}
	if e.Mods != nil && strings.Join(*e.Mods, "\n") != strings.Join(tr.Modifications, "\n") {
		for _, m := range *e.Mods {
			d = append(d, "-modification: "+m)
		}
		for _, m := range tr.Modifications {
			d = append(d, "+modification: "+m)
		}
	}
	return d
}

func printTrace(w io.Writer, tr *milter.Trace) {
	for _, s := range tr.Stages {
		if (s.Stage == milter.StageHeader.String() || s.Stage == milter.StageEOH.String()) && s.Action == milter.Continue.String() {
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
