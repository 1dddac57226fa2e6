package policy

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/luart"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/txn"
)

// Shadow (dry-run) mode: a module marked dry-run runs as usual, but what
// it decided is logged and reported to Config.ShadowObserver and then
// undone, so the MTA is told to continue. Undone are: the reply
// (set_code, set_disconnect), tarpit, VALIDATE_DONE, script errors and
// every message edit (headers, body, envelope, discard, quarantine).
// Context values set with vctx:set stay, as the MTA never sees them,
// except the message context's "quarantine", which quarantines the
// message (eom.go) and so is an edit too.

// shadowSnap is what a dry-run module may change, taken before its call.
type shadowSnap struct {
	reply  reply
	tarpit time.Duration
	msg    *message
	edits  txn.Edits
	// The message context's "quarantine" and whether it was set.
	quarantine    string
	hadQuarantine bool
}

// dryRun reports whether mod runs in shadow mode in this generation.
func (g *generation) dryRun(mod *luart.Module) bool {
	return g.dryAll || g.dryScripts[mod.Script]
}

func (s *session) shadowBegin() *shadowSnap {
	snap := &shadowSnap{reply: s.reply, tarpit: s.tarpit, msg: s.msg}
	snap.quarantine, snap.hadQuarantine = s.mess[quarantineKey]
	if s.msg != nil {
		snap.edits = s.msg.Snapshot()
	}
	return snap
}

// shadowEnd logs and counts what a dry-run module decided, then undoes it.
func (s *session) shadowEnd(mod *luart.Module, callout string, snap *shadowSnap, ret lua.LValue, err error) {
	log := s.modLog(mod.Name).With("callout", callout, "dry_run", true)
	report := func(action string, attrs ...any) {
		log.Info("dry run: not applied", append([]any{"would", action}, attrs...)...)
		if obs := s.eng.cfg.ShadowObserver; obs != nil {
			obs(mod.Name, callout, action)
		}
	}
	if err != nil { // scriptFailed logs the error itself
		report("error", "on_error", s.scriptFailed(err).String())
	}
	if r := s.reply; r != snap.reply {
		action := milter.CodeAction(r.code).String()
		if r.disconnect {
			action = "disconnect"
		}
		report(action, "code", r.code, "text", r.text)
	}
	if s.tarpit != snap.tarpit {
		report("tarpit", "seconds", (s.tarpit - snap.tarpit).Seconds())
	}
	if err == nil && ret == lua.LNumber(1) {
		log.Debug("dry run: VALIDATE_DONE ignored; later modules still run")
	}
	if m := s.msg; m != nil && m == snap.msg {
		after := m.Snapshot()
		m.Restore(snap.edits)
		if was, _ := snap.edits.Discarded(); !was {
			if now, reason := after.Discarded(); now {
				report("discard", "reason", reason)
			}
		}
		base := changeStrings(m.Changes())
		edited := changeStrings(m.ChangesAt(after))
		if diff := newChanges(base, edited); len(diff) > 0 {
			report("modify", "changes", strings.Join(diff, "; "))
		}
	}
	if q, ok := s.mess[quarantineKey]; ok != snap.hadQuarantine || q != snap.quarantine {
		report("modify", "changes", "quarantine "+strconv.Quote(q)+" (message context)")
		if snap.hadQuarantine {
			s.mess[quarantineKey] = snap.quarantine
		} else {
			delete(s.mess, quarantineKey)
		}
	}
	s.reply, s.tarpit = snap.reply, snap.tarpit
}

func changeStrings(cs []milter.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// newChanges lists the entries of after that are not in before.
func newChanges(before, after []string) []string {
	seen := map[string]int{}
	for _, c := range before {
		seen[c]++
	}
	var out []string
	for _, c := range after {
		if seen[c] > 0 {
			seen[c]--
			continue
		}
		out = append(out, c)
	}
	return out
}

// Logger returns the session's logger, tagged with session id, client
// address and queue id; luart uses it for the scripts' print lines.
func (s *session) Logger() *slog.Logger { return s.logger() }
