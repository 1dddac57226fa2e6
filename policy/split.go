package policy

import (
	"net"
	"slices"
)

// RecipientSplit is the per_recipient_edits = "split" rule. A milter has
// one copy of a message for all its recipients, so per-recipient edits
// that differ can't all be applied (rcptcopy.go). With the rule on, and
// scripts that define validate_data_spool_each_rcpt or
// validate_set_binding, every RCPT after the first accepted one in a
// transaction gets 452 4.5.3: the client sends the rest in later
// transactions, each with one recipient, and every edit is exact.
//
// The cost is the sender's: neither Postfix nor Sendmail resends the
// deferred recipients at once; each retry (Postfix's deferred queue,
// Sendmail's queue run) gets one more through, so the last of N waits
// N-1 retries, and some mail clients give up on 452 instead of retrying
// (measured in e2e/split_test.go). So authenticated sessions (submission) are
// never split, and the rule can be narrowed to client networks and to
// the MTA's listeners.
type RecipientSplit struct {
	On bool
	// Networks limits the rule to clients in these networks; empty means
	// every client.
	Networks []*net.IPNet
	// Listeners limits the rule to sessions the MTA received on these
	// listeners, named as its {daemon_name} macro (Postfix's service
	// name, e.g. "smtpd"; Sendmail's DaemonPortOptions Name, e.g. "MTA")
	// or its {daemon_port} ("25"); empty means every listener.
	Listeners []string
}

// splits reports whether RCPT must be deferred to a later transaction.
func (s *session) splits() bool {
	r := &s.gen.split
	if !r.On || !s.gen.editsPerRecipient || s.msg == nil || len(s.msg.Rcpts) == 0 {
		return false
	}
	if s.macro != nil && s.macro.Get("{auth_authen}") != "" {
		return false
	}
	if len(r.Networks) > 0 && !slices.ContainsFunc(r.Networks, func(n *net.IPNet) bool {
		return s.peer.IP != nil && n.Contains(s.peer.IP)
	}) {
		return false
	}
	if len(r.Listeners) > 0 && s.macro != nil {
		name, port := s.macro.Get("{daemon_name}"), s.macro.Get("{daemon_port}")
		if !slices.ContainsFunc(r.Listeners, func(l string) bool { return l == name || l == port }) {
			return false
		}
	}
	return true
}
