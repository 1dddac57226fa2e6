package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/milter/record"
	"github.com/luamilter/luamilter/policy"
)

func replayCommand() *cli.Command {
	flags := append(runtimeFlags(),
		&cli.StringFlag{Name: "negotiate", Value: "need", Usage: "need or all (see serve)"},
		&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.NumCPU(), Usage: "transactions played at once"},
		&cli.BoolFlag{Name: "json", Usage: "print the outcome as one JSON object"},
	)
	return &cli.Command{
		Name:      "replay",
		Usage:     "play transactions recorded by `serve --record` through the given scripts and show what would change",
		ArgsUsage: "DIR",
		Description: "Each recorded transaction runs again through the real milter path, with its client, macros,\n" +
			"envelope (ESMTP args included), header fields and body, ending where the MTA's session ended.\n" +
			"A transaction is changed when any stage's action or reply or the modifications differ from the\n" +
			"recorded ones; nothing is normalised (a date in an added header counts). Prints each change and\n" +
			"the counts by old -> new action; exits 0 unless a transaction could not be played.",
		Flags:  flags,
		Action: runReplay,
	}
}

// replayChange is one transaction that would be answered differently.
type replayChange struct {
	Index  int       `json:"index"` // 1-based, in recording order
	Time   time.Time `json:"time"`
	Client string    `json:"client,omitempty"`
	From   string    `json:"from,omitempty"`
	Rcpts  []string  `json:"rcpts,omitempty"`
	Old    string    `json:"old"` // action and reply, e.g. "reject 550 5.7.1 no"
	New    string    `json:"new"`
	Diff   []string  `json:"diff"`
}

// replayReport is the --json output.
type replayReport struct {
	Total    int            `json:"total"`
	Changed  int            `json:"changed"`
	Failed   int            `json:"failed"`
	BadLines int            `json:"bad_lines"`
	ByAction map[string]int `json:"by_action"`
	Changes  []replayChange `json:"changes"`
	Errors   []string       `json:"errors,omitempty"`
}

func runReplay(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("replay: give the recording directory", 2)
	}
	recs, bad, err := record.ReadDir(c.Args().First())
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	jobs := max(1, min(c.Int("jobs"), len(recs)))
	st, eng, done, err := offlineEngine(c, jobs)
	if err != nil {
		return err
	}
	defer done()
	rep, err := replayAll(st, eng, recs, jobs)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	rep.BadLines = bad
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReplay(c.App.Writer, rep)
	}
	if rep.Failed > 0 {
		return cli.Exit("", 1)
	}
	return nil
}

// replayAll plays recs on jobs workers. Each worker has its own offline
// server whose sessions are recorded again, so the answers of the one
// transaction it plays at a time are compared at the same layer they
// were recorded at.
func replayAll(st *daemon.Stack, eng *policy.Engine, recs []*record.Record, jobs int) (*replayReport, error) {
	type outcome struct {
		got *record.Record
		err error
	}
	results := make([]outcome, len(recs))
	type worker struct {
		srv *offlineServer
		got chan *record.Record
	}
	var workers []worker
	for range jobs {
		got := make(chan *record.Record, 4)
		srv, err := startOffline(st, record.Wrap(eng, func(r *record.Record) { got <- r }, nil), eng)
		if err != nil {
			for _, w := range workers {
				w.srv.Close()
			}
			return nil, err
		}
		workers = append(workers, worker{srv, got})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.srv.Close()
			for i := range next {
				_, err := w.srv.Play(record.Transaction(recs[i]))
				// The session's record comes at end of message or, for
				// a session that ended earlier, when the server sees
				// the client go.
				select {
				case r := <-w.got:
					results[i] = outcome{got: r}
				case <-time.After(30 * time.Second):
					if err == nil {
						err = errors.New("the server recorded no answers")
					}
					results[i] = outcome{err: err}
				}
			}
		}()
	}
	for i := range recs {
		next <- i
	}
	close(next)
	wg.Wait()
	rep := &replayReport{Total: len(recs), ByAction: map[string]int{}, Changes: []replayChange{}}
	for i, res := range results {
		old := recs[i]
		if res.err != nil {
			rep.Failed++
			rep.Errors = append(rep.Errors, fmt.Sprintf("#%d: %v", i+1, res.err))
			continue
		}
		diff := record.Diff(old, res.got)
		if len(diff) == 0 {
			continue
		}
		o, n := old.Outcome(), res.got.Outcome()
		rep.Changed++
		rep.ByAction[o.Action+"->"+n.Action]++
		ch := replayChange{Index: i + 1, Time: old.Time, Client: old.Conn.Addr, Old: record.ShowReply(o), New: record.ShowReply(n), Diff: diff}
		if old.From != nil {
			ch.From = old.From.Addr
		}
		for _, r := range old.Rcpts {
			ch.Rcpts = append(ch.Rcpts, r.Addr)
		}
		rep.Changes = append(rep.Changes, ch)
	}
	return rep, nil
}

func printReplay(w io.Writer, rep *replayReport) {
	for _, ch := range rep.Changes {
		fmt.Fprintf(w, "#%d %s %s from=<%s> to=<%s>: %s => %s\n", ch.Index, ch.Time.Format(time.RFC3339), ch.Client,
			ch.From, strings.Join(ch.Rcpts, ">,<"), ch.Old, ch.New)
		for _, d := range ch.Diff {
			fmt.Fprintln(w, "  "+d)
		}
	}
	for _, e := range rep.Errors {
		fmt.Fprintln(w, "error:", e)
	}
	fmt.Fprintf(w, "%d transactions, %d changed, %d failed", rep.Total, rep.Changed, rep.Failed)
	if rep.BadLines > 0 {
		fmt.Fprintf(w, ", %d unreadable lines skipped", rep.BadLines)
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(rep.ByAction))
	for k := range rep.ByAction {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-24s %d\n", k, rep.ByAction[k])
	}
}
