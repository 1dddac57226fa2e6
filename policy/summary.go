package policy

import (
	"context"
	"log/slog"
	"strings"

	"github.com/luamilter/luamilter/milter"
)

// Summary describes one finished message, for logs and metrics.
type Summary struct {
	QueueID string
	Client  string
	From    string
	// Rcpts are the recipients the message went on with (accepted at
	// RCPT and not dropped later).
	Rcpts []string
	// Recipients is every recipient the client gave, refused ones
	// included, and those the scripts added, each with its outcome.
	Recipients []RcptOutcome
	Verdict    milter.Verdict
	Changes    []milter.Change
	ScriptDur  float64 // seconds of script time for this message
}

// RcptOutcome is what became of one recipient: "accept", "added",
// "removed", "discard", or the refusal as "reject 550 5.1.1 text".
type RcptOutcome struct {
	Addr    string
	Outcome string
}

// trail collects what happened to the current message before its end,
// so that its summary can name every recipient, refused ones included,
// and so that a message that never reaches end of message still gets one.
type trail struct {
	open  bool
	rcpts []RcptOutcome
	end   milter.Verdict            // the MAIL or DATA refusal that ended it
	atEOM map[string]milter.Verdict // per-recipient rejections at end of message
	last  milter.Verdict            // the last recipient refusal
}

func (t *trail) begin() {
	*t = trail{open: true, rcpts: t.rcpts[:0]}
}

func (t *trail) rcpt(addr, outcome string) {
	t.rcpts = append(t.rcpts, RcptOutcome{Addr: addr, Outcome: outcome})
}

func (t *trail) rejectAtEOM(addr string, v milter.Verdict) {
	if t.atEOM == nil {
		t.atEOM = map[string]milter.Verdict{}
	}
	t.atEOM[strings.ToLower(addr)] = v
}

// refused logs a refused command with its reply text, naming the module
// that set the reply, and returns v. The MTA logs the refusal too, but
// under its own ids; this line ties it to the session, the script and
// the reply as the script wrote it.
func (s *session) refused(stage milter.Stage, arg string, v milter.Verdict) milter.Verdict {
	if v.Action != milter.Reject && v.Action != milter.TempFail {
		return v
	}
	log := s.logger()
	if s.reply.module != "" {
		log = s.modLog(s.reply.module)
	}
	attrs := make([]slog.Attr, 0, 4)
	attrs = append(attrs, slog.String("stage", stage.String()))
	if arg != "" {
		attrs = append(attrs, slog.String("arg", arg))
	}
	attrs = append(attrs, slog.String("action", v.Action.String()), slog.String("reply", replyText(v)))
	log.LogAttrs(context.Background(), slog.LevelInfo, "command refused", attrs...)
	return v
}

// rcptRefused logs a refused recipient and keeps it for the summary.
func (s *session) rcptRefused(rcpt string, v milter.Verdict) milter.Verdict {
	s.refused(milter.StageRcpt, rcpt, v)
	s.trail.rcpt(rcpt, v.String())
	s.trail.last = v
	return v
}

func replyText(v milter.Verdict) string {
	return strings.TrimSpace(strconvCode(v.Code) + " " + v.Text)
}

// summarize logs the message's summary at end of message and tells the
// observer.
func (s *session) summarize(res milter.Result) {
	sum := Summary{QueueID: s.info.QueueID, Client: s.client, Verdict: res.Verdict, Changes: res.Changes, ScriptDur: s.scriptDur.Seconds()}
	if s.msg != nil {
		sum.From = s.msg.From
	}
	sum.Rcpts, sum.Recipients = s.outcomes(res)
	if s.logs(slog.LevelInfo) {
		s.logMessage(sum)
	}
	if s.eng.cfg.Observer != nil {
		s.eng.cfg.Observer(sum)
	}
	s.scriptDur = 0
	s.trail.open = false
}

// outcomes is what became of each recipient at end of message.
func (s *session) outcomes(res milter.Result) ([]string, []RcptOutcome) {
	removed := map[string]bool{}
	var added []RcptOutcome
	for _, c := range res.Changes {
		switch c.Kind {
		case milter.DelRcpt:
			removed[strings.ToLower(c.Addr)] = true
		case milter.AddRcpt:
			added = append(added, RcptOutcome{Addr: c.Addr, Outcome: "added"})
		}
	}
	action := res.Verdict.Action
	var kept []string
	out := make([]RcptOutcome, 0, len(s.trail.rcpts)+len(added))
	for _, r := range s.trail.rcpts {
		if r.Outcome != "accept" {
			out = append(out, r)
			continue
		}
		key := strings.ToLower(r.Addr)
		switch {
		case action != milter.Continue && action != milter.Accept:
			r.Outcome = res.Verdict.String()
		case removed[key]:
			r.Outcome = "removed"
			if v, ok := s.trail.atEOM[key]; ok {
				r.Outcome = v.String()
			}
		default:
			kept = append(kept, r.Addr)
		}
		out = append(out, r)
	}
	if action == milter.Continue || action == milter.Accept {
		for _, a := range added {
			kept = append(kept, a.Addr)
		}
		out = append(out, added...)
	}
	return kept, out
}

// summarizeUnfinished logs the summary of a message that ended before
// end of message: refused at MAIL or DATA, left without an accepted
// recipient, or aborted (RSET, a lost client, the session's end).
func (s *session) summarizeUnfinished() {
	if !s.trail.open {
		return
	}
	s.trail.open = false
	v := s.trail.end
	action := "abort"
	if v.Action != milter.Continue {
		action = v.Action.String()
	} else if len(s.trail.rcpts) > 0 && !s.anyAccepted() {
		// Every recipient was refused: the MTA ends the message there,
		// with the last refusal as the client's last answer.
		action, v = s.trail.last.Action.String(), s.trail.last
	}
	sum := Summary{QueueID: s.info.QueueID, Client: s.client, Verdict: v, ScriptDur: s.scriptDur.Seconds()}
	if s.msg != nil {
		sum.From = s.msg.From
	}
	sum.Recipients = s.trail.rcpts
	s.scriptDur = 0
	if !s.logs(slog.LevelInfo) {
		return
	}
	s.logSummary(action, sum)
}

func (s *session) anyAccepted() bool {
	for _, r := range s.trail.rcpts {
		if r.Outcome == "accept" {
			return true
		}
	}
	return false
}

// logMessage writes the one log line of a message that reached its end.
func (s *session) logMessage(sum Summary) {
	action := sum.Verdict.Action
	if action == milter.Continue {
		action = milter.Accept
	}
	s.logSummary(action.String(), sum)
}

func (s *session) logSummary(action string, sum Summary) {
	changes := make([]string, len(sum.Changes))
	for i, c := range sum.Changes {
		changes[i] = c.String()
	}
	rcpts := make([]string, len(sum.Recipients))
	for i, r := range sum.Recipients {
		rcpts[i] = r.Addr + " " + r.Outcome
	}
	s.logger().LogAttrs(context.Background(), slog.LevelInfo, "message",
		slog.String("action", action),
		slog.String("reply", replyText(sum.Verdict)),
		slog.String("from", sum.From),
		slog.String("rcpts", strings.Join(rcpts, "; ")),
		slog.String("changes", strings.Join(changes, "; ")),
		slog.Float64("script_seconds", sum.ScriptDur),
		slog.Uint64("generation", s.gen.number))
}
