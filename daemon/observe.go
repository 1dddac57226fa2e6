package daemon

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/luamilter/luamilter/milter"
)

// observedBackend counts every verdict other than continue, per SMTP
// stage, including the rejections before end of message that the
// per-message summary never sees.
type observedBackend struct {
	next     milter.Backend
	verdicts *prometheus.CounterVec
}

func (b *observedBackend) NewSession(ctx context.Context, info milter.SessionInfo) (milter.Session, error) {
	s, err := b.next.NewSession(ctx, info)
	if err != nil {
		return nil, err
	}
	return &observedSession{Session: s, verdicts: b.verdicts}, nil
}

type observedSession struct {
	milter.Session
	verdicts *prometheus.CounterVec
}

func (s *observedSession) count(stage milter.Stage, v milter.Verdict) milter.Verdict {
	if v.Action != milter.Continue {
		s.verdicts.WithLabelValues(stage.String(), v.Action.String()).Inc()
	}
	return v
}

func (s *observedSession) Connect(ctx context.Context, c milter.Conn, m milter.Macros) milter.Verdict {
	return s.count(milter.StageConnect, s.Session.Connect(ctx, c, m))
}

func (s *observedSession) Helo(ctx context.Context, name string, m milter.Macros) milter.Verdict {
	return s.count(milter.StageHelo, s.Session.Helo(ctx, name, m))
}

func (s *observedSession) MailFrom(ctx context.Context, from, args string, m milter.Macros) milter.Verdict {
	return s.count(milter.StageMail, s.Session.MailFrom(ctx, from, args, m))
}

func (s *observedSession) RcptTo(ctx context.Context, rcpt, args string, m milter.Macros) milter.Verdict {
	return s.count(milter.StageRcpt, s.Session.RcptTo(ctx, rcpt, args, m))
}

func (s *observedSession) Data(ctx context.Context, m milter.Macros) milter.Verdict {
	return s.count(milter.StageData, s.Session.Data(ctx, m))
}

func (s *observedSession) EndOfMessage(ctx context.Context, msg *milter.Message, m milter.Macros) milter.Result {
	res := s.Session.EndOfMessage(ctx, msg, m)
	v := res.Verdict
	if v.Action == milter.Continue {
		v.Action = milter.Accept
	}
	s.count(milter.StageEOM, v)
	return res
}
