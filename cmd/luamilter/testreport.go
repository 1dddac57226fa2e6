package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
)

// report prints the results: one message's stages as before (single),
// else a table with a diff for each miss and a count line; or JSON.
func report(w io.Writer, results []testResult, single, asJSON bool) error {
	if asJSON {
		return reportJSON(w, results, single)
	}
	if single {
		r := results[0]
		if r.Err != nil {
			return fmt.Errorf("%s: %w", r.Case.Name, r.Err)
		}
		printTrace(w, r.Trace)
		printDiff(w, r)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE\tACTION\tREPLY\tEXPECTED\tRESULT")
	passed, failed, errs := 0, 0, 0
	for _, r := range results {
		action, reply, result := "-", "", "ok"
		switch {
		case r.Err != nil:
			result, errs = "error: "+r.Err.Error(), errs+1
		case len(r.Diff) > 0:
			result, failed = "MISS", failed+1
		default:
			passed++
		}
		if r.Trace != nil {
			action, reply = finalAction(r.Trace), r.Trace.Final.Reply
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Case.Name, action, oneLine(reply), orDash(r.Case.Expect.Action), result)
	}
	tw.Flush()
	for _, r := range results {
		printDiff(w, r)
	}
	fmt.Fprintf(w, "%d message(s): %d passed, %d failed, %d error(s)\n", len(results), passed, failed, errs)
	return nil
}

// printDiff prints what an expectation missed, as a unified diff would.
func printDiff(w io.Writer, r testResult) {
	if len(r.Diff) == 0 {
		return
	}
	fmt.Fprintf(w, "--- %s: expected\n+++ %s: got\n", r.Case.Name, r.Case.Name)
	for _, l := range r.Diff {
		fmt.Fprintln(w, l)
	}
}

// jsonResult is one message in --json output.
type jsonResult struct {
	Message string      `json:"message"`
	Action  string      `json:"action,omitempty"`
	Trace   interface{} `json:"trace,omitempty"`
	Error   string      `json:"error,omitempty"`
	Diff    []string    `json:"diff,omitempty"`
	OK      bool        `json:"ok"`
}

func reportJSON(w io.Writer, results []testResult, single bool) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if single && results[0].Err == nil && len(results[0].Diff) == 0 {
		// One message: the trace itself, as before there were several.
		return enc.Encode(results[0].Trace)
	}
	out := struct {
		Results []jsonResult `json:"results"`
		Passed  int          `json:"passed"`
		Failed  int          `json:"failed"`
	}{}
	for _, r := range results {
		jr := jsonResult{Message: r.Case.Name, Diff: r.Diff, OK: r.Err == nil && len(r.Diff) == 0}
		if r.Err != nil {
			jr.Error = r.Err.Error()
		}
		if r.Trace != nil {
			jr.Action, jr.Trace = finalAction(r.Trace), r.Trace
		}
		if jr.OK {
			out.Passed++
		} else {
			out.Failed++
		}
		out.Results = append(out.Results, jr)
	}
	return enc.Encode(out)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\r\n", `\r\n`) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// progress draws a bar on a terminal while messages are played; it is
// silent when the output is not a terminal or there is one message.
type progress struct {
	mu          sync.Mutex
	w           io.Writer
	total, done int
	misses      int
	on          bool
}

func newProgress(w io.Writer, total int) *progress {
	f, ok := w.(*os.File)
	on := false
	if ok && total > 1 {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, total: total, on: on}
}

func (p *progress) step(miss bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if miss {
		p.misses++
	}
	if p.on {
		fmt.Fprint(p.w, "\r"+progressBar(p.done, p.total, p.misses, 30))
	}
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", 60)+"\r")
	}
}

// progressBar renders "[=====>    ] 12/40, 1 failed".
func progressBar(done, total, misses, width int) string {
	fill := width * done / total
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	s := fmt.Sprintf("[%s] %d/%d", bar, done, total)
	if misses > 0 {
		s += fmt.Sprintf(", %d failed", misses)
	}
	return s
}
