package policy

import (
	"context"
	"errors"

	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/milter"
)

// A session takes a thread of the generation's Lua state, and with it
// the generation's lock, for each SMTP event that runs Lua, and gives
// both back when the event is over. Every thread sees the same globals,
// upvalues and module tables, as on Momentum; what is the session's own
// lives in `self`, the validation context and _TLS, which go with the
// session from thread to thread. A session asks for the thread it had
// last (AcquireAgain), so its _OSTLS is usually the one it left.

var errNoState = errors.New("no Lua state")

// acquire makes sure the session holds a thread for the Lua it is about
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

// settle ends an SMTP event: the thread and the lock go back.
func (s *session) settle() {
	if s.st == nil {
		return
	}
	s.lastState = s.st.ID()
	s.gen.rt.Release(s.st)
	s.st = nil
}

// noState answers a command that needs Lua when no State can be had:
// a temporary failure, since the fault is ours, not the message's.
func (s *session) noState(err error) milter.Verdict {
	s.logger().Error("no Lua state for the callout", "err", err)
	return milter.PolicyUnavailableReply()
}
