package record

import (
	"fmt"
	"strings"

	"github.com/luamilter/luamilter/milter"
)

// Transaction is what the MTA sent in r, to play again with milter.Play:
// the same client, macros per stage, envelope with ESMTP args, header
// fields and body, ending where the MTA's session ended.
func Transaction(r *Record) milter.Transaction {
	tx := milter.Transaction{ClientIP: r.Conn.Addr, ClientName: r.Conn.Host, ClientPort: r.Conn.Port,
		Helo: r.Helo, Macros: map[string]string{}, StageMacros: r.Macros, Exact: true}
	if r.From != nil {
		tx.From, tx.MailArgs = r.From.Addr, r.From.Args
	}
	for _, a := range r.Rcpts {
		tx.Rcpts = append(tx.Rcpts, a.Addr)
		tx.RcptArgs = append(tx.RcptArgs, a.Args)
		tx.RcptMacros = append(tx.RcptMacros, a.Macros)
	}
	if r.Last != milter.StageEOM.String() {
		tx.Until = r.Last
	}
	if len(r.Headers) > 0 || len(r.Body) > 0 {
		var b strings.Builder
		for _, h := range r.Headers {
			b.WriteString(h.Name + ":" + h.Value + "\r\n")
		}
		b.WriteString("\r\n")
		b.Write(r.Body)
		tx.Message = []byte(b.String())
	}
	return tx
}

// Diff lists how got's answers differ from old's: verdicts stage by stage,
// then the changes. Nothing is normalised: a header value with a date in
// it that differs is a difference.
func Diff(old, got *Record) []string {
	d := diffLists(nil, "verdict", old.Verdicts, got.Verdicts, showVerdict)
	return diffLists(d, "change", old.Changes, got.Changes, ShowChange)
}

// diffLists appends to d a line for each position where old and got,
// rendered by show, differ.
func diffLists[T any](d []string, what string, old, got []T, show func(T) string) []string {
	for i := range max(len(old), len(got)) {
		var a, b string
		if i < len(old) {
			a = show(old[i])
		}
		if i < len(got) {
			b = show(got[i])
		}
		if a != b {
			d = append(d, fmt.Sprintf("%s #%d: %s -> %s", what, i+1, orNone(a), orNone(b)))
		}
	}
	return d
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func showVerdict(v Verdict) string {
	s := v.Stage
	if v.Arg != "" {
		s += " " + v.Arg
	}
	s += ": " + ShowReply(v)
	return s
}

// ShowReply renders a verdict's action and reply as milter.Verdict.String
// does: "reject 550 5.7.1 text". An action this version does not know
// shows with all the verdict's fields.
func ShowReply(v Verdict) string {
	a, ok := milter.ParseAction(v.Action)
	if !ok {
		return fmt.Sprintf("%+v", v)
	}
	return milter.Verdict{Action: a, Code: v.Code, Text: v.Text}.String()
}

// ShowChange renders a change on one line, as milter.Change.String does
// for logs. A kind this version does not know shows with all its fields,
// so a diff still tells two of them apart.
func ShowChange(c Change) string {
	k, ok := milter.ParseChangeKind(c.Kind)
	if !ok {
		return fmt.Sprintf("%+v", c)
	}
	return milter.Change{Kind: k, Name: c.Name, Value: c.Value, Index: c.Index, Addr: c.Addr, Args: c.Args,
		Reason: c.Reason, BodySize: c.BodySize}.String()
}
