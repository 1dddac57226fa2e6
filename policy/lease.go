package policy

import (
	"context"
	"errors"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/milter"
)

// A session leases a Lua State for each SMTP event that runs Lua and
// gives it back when the event is over, so memory follows the callouts
// running at once, not the sessions open. That is Momentum's model:
// scripts run in per-thread States, and the docs tell scripts to keep
// per-session data in `self` or the validation context, never in script
// locals or globals.
//
// A session keeps its State (it is pinned) from the first event after
// which handing the State to another session would change what scripts
// see: a callout wrote a global, or a `self` table holds something other
// than strings, numbers and booleans. Tables, functions and userdata
// belong to the State that made them; run in another State, they would
// be shared by two goroutines. A pinned session behaves as if it had its
// own State all along, which is what it gets.
//
// A session asks for the State it had last (AcquireAgain), so at low load
// its commands run in one State anyway; only under concurrency do they
// spread, as on Momentum's threads.

var errNoState = errors.New("no Lua state")

// acquire makes sure the session holds a State for the Lua it is about
// to run.
func (s *session) acquire(ctx context.Context) error {
	if s.st != nil {
		return nil
	}
	st, err := s.gen.rt.AcquireAgain(ctx, s.lastState)
	if err != nil {
		return err
	}
	s.st = st
	if s.selfs == nil {
		s.selfs = make([]*lua.LTable, len(s.ran))
		for i := range s.selfs {
			s.selfs[i] = st.L.CreateTable(0, 4)
		}
	}
	return nil
}

// settle ends an SMTP event: the State goes back to the pool, or the
// session keeps it for good if the scripts left anything in it.
func (s *session) settle() {
	if s.st == nil || s.pinned {
		return
	}
	id := s.st.ID()
	if !s.selfsPortable() || !s.gen.rt.ReleaseClean(s.st) {
		s.pinned = true
		return
	}
	s.st, s.lastState = nil, id
}

// endLease gives the State back at close, undoing what scripts wrote.
func (s *session) endLease() {
	if s.st != nil {
		s.gen.rt.Release(s.st)
		s.st, s.pinned = nil, false
	}
}

// selfsPortable reports whether every `self` table holds only strings,
// numbers and booleans, values that mean the same in any State.
func (s *session) selfsPortable() bool {
	for _, t := range s.selfs {
		for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
			if !portable(k) || !portable(v) {
				return false
			}
		}
	}
	return true
}

func portable(v lua.LValue) bool {
	switch v.Type() {
	case lua.LTString, lua.LTNumber, lua.LTBool:
		return true
	}
	return false
}

// noState answers a command that needs Lua when no State can be had:
// a temporary failure, since the fault is ours, not the message's.
func (s *session) noState(err error) milter.Verdict {
	s.logger().Error("no Lua state for the callout", "err", err)
	return milter.Reply(451, "4.3.0 Temporary failure: policy unavailable, try again later")
}
