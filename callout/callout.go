// Package callout is the one table of the Momentum policy callouts
// luamilter runs. Each callout is declared here once, with the SMTP stage
// it runs at, its Lua arguments and what it may do with the message; what
// the MTA is asked to send (negotiation), the message methods' phase
// rules, `luamilter check` and the README's table derive from it. The
// package also lists Momentum's hooks that never run under a milter, each
// with the reason `check` and the daemon give.
//
// It knows nothing of Lua or of the milter wire: it is data.
package callout

import (
	"slices"
	"sort"
)

// The callouts, in the order Momentum runs them.
const (
	Init                      = "init"
	CoreValidateAccept        = "core_validate_accept"
	ValidateConnect           = "validate_connect"
	ValidateEHLO              = "validate_ehlo"
	ValidateMailFrom          = "validate_mailfrom"
	ValidateRcptTo            = "validate_rcptto"
	ValidateRcptToList        = "validate_rcptto_list"
	ValidateRcptToListFinal   = "validate_rcptto_list_final"
	ValidateData              = "validate_data"
	ValidateDataSpool         = "validate_data_spool"
	ValidateDataSpoolEachRcpt = "validate_data_spool_each_rcpt"
	ValidateSetBinding        = "validate_set_binding"
	CoreFinalValidation       = "core_final_validation"
	ValidateDealloc           = "validate_dealloc"
	Deinit                    = "deinit"
)

// Stage is the point of an SMTP session (as a milter sees it) where a
// callout runs.
type Stage int

const (
	// Load is outside any session: when a generation of scripts starts
	// or stops.
	Load Stage = iota
	Connect
	Helo
	Mail
	Rcpt
	Data // the DATA command, before the message is sent
	EndOfMessage
	Close
)

var stageNames = [...]string{"load", "connect", "helo", "mail", "rcpt", "data", "eom", "close"}

// String is the stage's name as logs and traces spell it.
func (s Stage) String() string { return stageNames[s] }

// Callout describes one callout.
type Callout struct {
	Name  string
	Stage Stage
	// Args are the Lua arguments after self, as Momentum documents them.
	Args string
	// PerRecipient callouts run once per recipient, each on the
	// recipient's own copy of the message.
	PerRecipient bool
	// Content: the message's headers and body are there (msg:header,
	// msg:body, ...); before it only the envelope is.
	Content bool
	// Refuses: a code set with vctx:set_code answers the SMTP command.
	// Momentum's core_final_validation returns nothing and can't.
	Refuses bool
}

// table is every callout, in the order Momentum runs them.
var table = []Callout{
	{Name: Init, Stage: Load},
	{Name: CoreValidateAccept, Stage: Connect, Args: "ac, vctx", Refuses: true},
	{Name: ValidateConnect, Stage: Connect, Args: "ac, vctx", Refuses: true},
	{Name: ValidateEHLO, Stage: Helo, Args: "str, ac, vctx", Refuses: true},
	{Name: ValidateMailFrom, Stage: Mail, Args: "str, ac, vctx", Refuses: true},
	{Name: ValidateRcptTo, Stage: Rcpt, Args: "msg, str, ac, vctx", Refuses: true},
	{Name: ValidateRcptToList, Stage: Rcpt, Args: "node, vctx", Refuses: true},
	{Name: ValidateRcptToListFinal, Stage: Data, Args: "node, vctx", Refuses: true},
	{Name: ValidateData, Stage: EndOfMessage, Args: "msg, ac, vctx", Content: true, Refuses: true},
	{Name: ValidateDataSpool, Stage: EndOfMessage, Args: "msg, ac, vctx", Content: true, Refuses: true},
	{Name: ValidateDataSpoolEachRcpt, Stage: EndOfMessage, Args: "msg, ac, vctx", Content: true, PerRecipient: true, Refuses: true},
	{Name: ValidateSetBinding, Stage: EndOfMessage, Args: "msg", Content: true, PerRecipient: true},
	{Name: CoreFinalValidation, Stage: EndOfMessage, Args: "msg, ac, vctx", Content: true},
	{Name: ValidateDealloc, Stage: Close},
	{Name: Deinit, Stage: Load},
}

// All returns every callout in the order Momentum runs them.
func All() []Callout { return slices.Clone(table) }

// Lookup returns the callout named name.
func Lookup(name string) (Callout, bool) {
	for _, c := range table {
		if c.Name == name {
			return c, true
		}
	}
	return Callout{}, false
}

// Names returns the callout names, sorted.
func Names() []string {
	out := make([]string, len(table))
	for i, c := range table {
		out[i] = c.Name
	}
	sort.Strings(out)
	return out
}

// AtStage returns the callouts that run at stage, in order.
func AtStage(stage Stage) []Callout {
	var out []Callout
	for _, c := range table {
		if c.Stage == stage {
			out = append(out, c)
		}
	}
	return out
}
