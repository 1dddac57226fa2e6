package milter

import (
	"strings"

	gomilter "github.com/d--j/go-milter"
)

// Actions are the modification actions negotiated with the MTA for one
// connection (SMFIF_* flags). The MTA may offer fewer than luamilter
// asks for: Postfix's milter_..._macros don't restrict them, but other
// MTAs and Sendmail set-ups do. A change outside them can't be made.
type Actions uint32

// AllActions are every modification action luamilter asks for.
const AllActions = Actions(wantedActions &^ gomilter.OptSetMacros)

// actionNames name each modification action flag as logs show it.
var actionNames = []struct {
	flag gomilter.OptAction
	name string
}{
	{gomilter.OptAddHeader, "add_header"},
	{gomilter.OptChangeHeader, "change_header"},
	{gomilter.OptChangeBody, "replace_body"},
	{gomilter.OptAddRcpt, "add_rcpt"},
	{gomilter.OptAddRcptWithArgs, "add_rcpt_with_args"},
	{gomilter.OptRemoveRcpt, "del_rcpt"},
	{gomilter.OptQuarantine, "quarantine"},
	{gomilter.OptChangeFrom, "change_from"},
}

// Missing names the actions luamilter asks for that a lacks, or nil.
func (a Actions) Missing() []string {
	var out []string
	for _, n := range actionNames {
		if gomilter.OptAction(a)&n.flag == 0 && AllActions&Actions(n.flag) != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Names names the actions in a that luamilter asks for.
func (a Actions) Names() []string {
	var out []string
	for _, n := range actionNames {
		if gomilter.OptAction(a)&n.flag != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Allows reports whether c can be sent under a, by the rules go-milter
// applies when sending it.
func (a Actions) Allows(c Change) bool {
	has := func(f gomilter.OptAction) bool { return gomilter.OptAction(a)&f != 0 }
	switch c.Kind {
	case AddHeader:
		return has(gomilter.OptAddHeader)
	case InsertHeader:
		return has(gomilter.OptAddHeader) || has(gomilter.OptChangeHeader)
	case ChangeHeader:
		return has(gomilter.OptChangeHeader)
	case AddRcpt:
		if c.Args != "" {
			return has(gomilter.OptAddRcptWithArgs)
		}
		return has(gomilter.OptAddRcpt) || has(gomilter.OptAddRcptWithArgs)
	case DelRcpt:
		return has(gomilter.OptRemoveRcpt)
	case ChangeFrom:
		return has(gomilter.OptChangeFrom)
	case ReplaceBody:
		return has(gomilter.OptChangeBody)
	case Quarantine:
		return has(gomilter.OptQuarantine)
	}
	return false
}

// noteOffer logs, once per server and distinct offer, the modification
// actions the MTA left out: a script that makes such a change will get
// its message the --on-error action, and the reason should be in the log
// before the first message needs it.
func (a *adapter) noteOffer(offered Actions) {
	missing := offered.Missing()
	if missing == nil {
		return
	}
	key := strings.Join(missing, ",")
	if _, seen := a.srv.offers.LoadOrStore(key, true); seen {
		a.log.Debug("the MTA does not offer modification actions", "missing", key)
		return
	}
	a.log.Warn("the MTA does not offer modification actions; a script change that needs one gets the --on-error action",
		"missing", key)
}
