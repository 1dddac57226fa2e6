package milter

import (
	"fmt"
	"strings"
)

// Action is what the milter tells the MTA to do with the current command.
type Action int

const (
	// Continue lets the command (or message) proceed.
	Continue Action = iota
	// Accept accepts the message and skips the remaining events.
	Accept
	// Reject refuses the command with a 5xx reply.
	Reject
	// TempFail refuses the command with a 4xx reply.
	TempFail
	// Discard accepts the message and silently drops it.
	Discard
)

// String is the action's lower-case name, as used in logs and traces.
func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case TempFail:
		return "tempfail"
	case Discard:
		return "discard"
	default:
		return "continue"
	}
}

// ParseAction is the action String names, for verdicts read back from a
// recording.
func ParseAction(name string) (Action, bool) {
	for a := Continue; a <= Discard; a++ {
		if a.String() == name {
			return a, true
		}
	}
	return Continue, false
}

// Verdict is a session's answer to one SMTP stage.
type Verdict struct {
	Action Action
	// Code and Text form the SMTP reply for Reject and TempFail. Text may
	// start with an enhanced status code and may span several lines.
	// Code 421 makes the MTA close the SMTP session after the reply.
	Code int
	Text string
}

// CodeAction is the action an SMTP reply code stands for: 5xx rejects,
// 4xx tempfails. Any other code refuses nothing, and a milter can't pass
// a 2xx or 3xx text on, so it continues. Every place that turns a code
// into an action asks here, so a reply is never logged, counted or traced
// as one action and sent as another.
func CodeAction(code int) Action {
	switch code / 100 {
	case 5:
		return Reject
	case 4:
		return TempFail
	}
	return Continue
}

// Reply returns the verdict for an SMTP reply: Reject for a 5xx code,
// TempFail for a 4xx one (see CodeAction).
func Reply(code int, text string) Verdict {
	return Verdict{Action: CodeAction(code), Code: code, Text: text}
}

// String renders the verdict like a log line: "reject 550 5.7.1 text".
func (v Verdict) String() string {
	if v.Code == 0 {
		return v.Action.String()
	}
	return fmt.Sprintf("%s %d %s", v.Action, v.Code, strings.ReplaceAll(v.Text, "\n", `\n`))
}

// Result is a session's answer at end of message.
type Result struct {
	Verdict Verdict
	Changes []Change
}
