package policy

import (
	"strings"

	"github.com/luamilter/luamilter/milter"
)

// offeredOnly checks the changes of an accepted message against the
// modification actions the MTA offered at negotiation. A change the MTA
// did not offer can't be made, so rather than report it as applied the
// message gets the --on-error action; with on_error = "accept" it goes
// through with only the changes the MTA allows.
func (s *session) offeredOnly(res milter.Result) milter.Result {
	if a := res.Verdict.Action; a != milter.Continue && a != milter.Accept {
		return res
	}
	// The usual message has every change allowed: it is checked before
	// anything is copied.
	allowed := true
	for _, c := range res.Changes {
		allowed = allowed && s.actions.Allows(c)
	}
	if allowed {
		return res
	}
	var kept []milter.Change
	var refused []string
	for _, c := range res.Changes {
		if s.actions.Allows(c) {
			kept = append(kept, c)
		} else {
			refused = append(refused, c.String())
		}
	}
	v := s.errorVerdict("change not allowed by the MTA")
	s.logger().Error("the MTA did not offer this change at negotiation; the message gets the --on-error action",
		"changes", strings.Join(refused, "; "), "offered", strings.Join(s.actions.Names(), ","), "verdict", v.String())
	if v.Action == milter.Continue {
		return milter.Result{Verdict: v, Changes: kept}
	}
	return milter.Result{Verdict: v}
}
