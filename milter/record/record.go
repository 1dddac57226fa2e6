// Package record records milter transactions at the Backend/Session
// layer and reads them back. A Record holds what the MTA sent at each
// stage (connect info, macros, envelope with ESMTP args, header fields,
// body) and what the session answered (each stage's verdict and the
// changes at end of message). Wrap puts a recording Session around any
// Backend's, so the milter layer and the policy engine stay unaware of it.
//
// The file format (see Writer) is one JSON object per line; Format is its
// version and only grows by optional fields.
package record

import (
	"context"
	"io"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/luamilter/luamilter/milter"
)

// Format is the version of the record format written.
const Format = 1

// Record is one transaction: a MAIL FROM through end of message or abort,
// with its connection's connect and HELO stages. A session that ends
// before MAIL FROM is one record without an envelope.
type Record struct {
	Format int       `json:"format"`
	Time   time.Time `json:"time"`
	// Conn is what the MTA reported at connect.
	Conn Conn   `json:"conn"`
	Helo string `json:"helo,omitempty"`
	// Macros are the macro values the MTA sent, by stage: connect, helo,
	// mail, data, eom; rcpt macros are in each Rcpt.
	Macros map[string]map[string]string `json:"macros,omitempty"`
	From   *Addr                        `json:"from,omitempty"`
	Rcpts  []Addr                       `json:"rcpts,omitempty"`
	// Headers are the fields as the session got them: Value is what
	// followed the colon, leading space and folding included.
	Headers []milter.Header `json:"headers,omitempty"`
	// Body is the body as received (base64 in JSON); empty when
	// BodyOmitted (the body was not negotiated).
	Body        []byte `json:"body,omitempty"`
	BodyOmitted bool   `json:"body_omitted,omitempty"`
	// Last is the last stage the MTA got to: connect, helo, mail, rcpt,
	// data or eom.
	Last string `json:"last"`
	// Verdicts are the session's answers in order.
	Verdicts []Verdict `json:"verdicts"`
	// Changes are the modifications returned at end of message.
	Changes []Change `json:"changes,omitempty"`
}

// Conn is the connect stage's client.
type Conn struct {
	Host   string `json:"host,omitempty"`
	Family string `json:"family,omitempty"`
	Addr   string `json:"addr,omitempty"`
	Port   uint16 `json:"port,omitempty"`
}

// Addr is an envelope address with its ESMTP args and, for a recipient,
// the macros sent with it.
type Addr struct {
	Addr   string            `json:"addr"`
	Args   string            `json:"args,omitempty"`
	Macros map[string]string `json:"macros,omitempty"`
}

// Verdict is one stage's answer.
type Verdict struct {
	Stage  string `json:"stage"`
	Arg    string `json:"arg,omitempty"`
	Action string `json:"action"`
	Code   int    `json:"code,omitempty"`
	Text   string `json:"text,omitempty"`
}

// Change is one modification; a body replacement is given by its size.
type Change struct {
	Kind     string `json:"kind"`
	Name     string `json:"name,omitempty"`
	Value    string `json:"value,omitempty"`
	Index    int    `json:"index,omitempty"`
	Addr     string `json:"addr,omitempty"`
	Args     string `json:"args,omitempty"`
	Reason   string `json:"reason,omitempty"`
	BodySize int64  `json:"body_size,omitempty"`
}

// Outcome is the verdict that decided the transaction: the first one that
// stopped it, the last recipient's when every recipient was refused, the
// end of message's otherwise (continue there is accept). A transaction
// the MTA ended before a decision has action "continue".
func (r *Record) Outcome() Verdict {
	var lastRcpt *Verdict
	taken := 0
	cont, accept := milter.Continue.String(), milter.Accept.String()
	for i, v := range r.Verdicts {
		if v.Stage == milter.StageRcpt.String() {
			lastRcpt = &r.Verdicts[i]
			if v.Action == cont || v.Action == accept {
				taken++
			}
			continue
		}
		if v.Stage == milter.StageData.String() && lastRcpt != nil && taken == 0 {
			break
		}
		if v.Action != cont {
			return v
		}
		if v.Stage == milter.StageEOM.String() {
			v.Action = accept
			return v
		}
	}
	if lastRcpt != nil && taken == 0 {
		return *lastRcpt
	}
	return Verdict{Stage: r.Last, Action: cont}
}

// Sink receives each finished record. It is called from the session's
// goroutine and must not keep the record's Body past the call unless it
// copies it (it is a copy already: a sink may keep it).
type Sink func(*Record)

// Wrap returns a Backend whose sessions are next's, recorded: each
// transaction is given to sink when it ends. sample, when not nil, says
// at MAIL FROM whether a transaction is recorded at all.
func Wrap(next milter.Backend, sink Sink, sample func() bool) milter.Backend {
	return &backend{next: next, sink: sink, sample: sample}
}

type backend struct {
	next   milter.Backend
	sink   Sink
	sample func() bool
}

func (b *backend) NewSession(ctx context.Context, info milter.SessionInfo) (milter.Session, error) {
	s, err := b.next.NewSession(ctx, info)
	if err != nil {
		return nil, err
	}
	return &session{next: s, b: b}, nil
}

type session struct {
	next milter.Session
	b    *backend
	// conn holds the connect and helo parts every record of the session
	// starts from; cur is the transaction being recorded, if any.
	conn    Record
	cur     *Record
	emitted bool // some transaction of the session was given to the sink
}

// macroStage is the go-milter stage whose macros luamilter asks for at
// stage.
func macroStage(stage milter.Stage) gomilter.MacroStage {
	switch stage {
	case milter.StageConnect:
		return gomilter.StageConnect
	case milter.StageHelo:
		return gomilter.StageHelo
	case milter.StageMail:
		return gomilter.StageMail
	case milter.StageRcpt:
		return gomilter.StageRcpt
	case milter.StageData:
		return gomilter.StageData
	}
	return gomilter.StageEOM
}

// macros are the values the MTA gave for the names luamilter asks for at
// stage.
func macros(stage milter.Stage, m milter.Macros) map[string]string {
	var out map[string]string
	for _, name := range milter.DefaultMacros[macroStage(stage)] {
		if v, ok := m.GetEx(name); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = v
		}
	}
	return out
}

func verdict(stage milter.Stage, arg string, v milter.Verdict) Verdict {
	return Verdict{Stage: stage.String(), Arg: arg, Action: v.Action.String(), Code: v.Code, Text: v.Text}
}

func (s *session) setMacros(r *Record, stage milter.Stage, m milter.Macros) {
	if mm := macros(stage, m); mm != nil {
		if r.Macros == nil {
			r.Macros = map[string]map[string]string{}
		}
		r.Macros[stage.String()] = mm
	}
}

func (s *session) Connect(ctx context.Context, c milter.Conn, m milter.Macros) milter.Verdict {
	v := s.next.Connect(ctx, c, m)
	s.conn = Record{Format: Format, Conn: Conn{Host: c.Host, Family: c.Family, Port: c.Port}, Last: milter.StageConnect.String()}
	if c.IP != nil {
		s.conn.Conn.Addr = c.IP.String()
	}
	s.setMacros(&s.conn, milter.StageConnect, m)
	s.conn.Verdicts = []Verdict{verdict(milter.StageConnect, s.conn.Conn.Addr, v)}
	return v
}

func (s *session) Helo(ctx context.Context, name string, m milter.Macros) milter.Verdict {
	v := s.next.Helo(ctx, name, m)
	s.conn.Helo, s.conn.Last = name, milter.StageHelo.String()
	s.setMacros(&s.conn, milter.StageHelo, m)
	var kept []Verdict // a second HELO replaces the first
	for _, pv := range s.conn.Verdicts {
		if pv.Stage != milter.StageHelo.String() {
			kept = append(kept, pv)
		}
	}
	s.conn.Verdicts = append(kept, verdict(milter.StageHelo, name, v))
	return v
}

func (s *session) MailFrom(ctx context.Context, from, args string, m milter.Macros) milter.Verdict {
	s.finish() // a MAIL FROM without Abort after the last message
	v := s.next.MailFrom(ctx, from, args, m)
	if s.b.sample != nil && !s.b.sample() {
		s.emitted = true // sampled out counts as handled
		return v
	}
	r := s.conn
	r.Time = time.Now().UTC()
	r.Verdicts = append([]Verdict(nil), s.conn.Verdicts...)
	if s.conn.Macros != nil {
		r.Macros = map[string]map[string]string{}
		for k, mm := range s.conn.Macros {
			r.Macros[k] = mm
		}
	}
	r.From = &Addr{Addr: from, Args: args}
	r.Last = milter.StageMail.String()
	s.setMacros(&r, milter.StageMail, m)
	r.Verdicts = append(r.Verdicts, verdict(milter.StageMail, from, v))
	s.cur = &r
	return v
}

func (s *session) RcptTo(ctx context.Context, rcpt, args string, m milter.Macros) milter.Verdict {
	v := s.next.RcptTo(ctx, rcpt, args, m)
	if r := s.cur; r != nil {
		r.Rcpts = append(r.Rcpts, Addr{Addr: rcpt, Args: args, Macros: macros(milter.StageRcpt, m)})
		r.Last = milter.StageRcpt.String()
		r.Verdicts = append(r.Verdicts, verdict(milter.StageRcpt, rcpt, v))
	}
	return v
}

func (s *session) Data(ctx context.Context, m milter.Macros) milter.Verdict {
	v := s.next.Data(ctx, m)
	if r := s.cur; r != nil {
		r.Last = milter.StageData.String()
		s.setMacros(r, milter.StageData, m)
		r.Verdicts = append(r.Verdicts, verdict(milter.StageData, "", v))
	}
	return v
}

func (s *session) EndOfMessage(ctx context.Context, msg *milter.Message, m milter.Macros) milter.Result {
	if r := s.cur; r != nil {
		// Taken before the session sees the message: the Spool is
		// the connection's and a script's changes must not show here.
		r.Headers = append([]milter.Header(nil), msg.Headers...)
		r.BodyOmitted = msg.BodyOmitted
		if msg.Body != nil && msg.Body.Size() > 0 {
			r.Body, _ = readAll(msg.Body)
		}
	}
	res := s.next.EndOfMessage(ctx, msg, m)
	if r := s.cur; r != nil {
		r.Last = milter.StageEOM.String()
		s.setMacros(r, milter.StageEOM, m)
		r.Verdicts = append(r.Verdicts, verdict(milter.StageEOM, "", res.Verdict))
		r.Changes = changes(res.Changes)
		s.finish()
	}
	return res
}

func readAll(sp *milter.Spool) ([]byte, error) {
	rc, err := sp.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// changes describes cs. A replacement body is given by its size only: it
// can be opened once, by the adapter that sends it.
func changes(cs []milter.Change) []Change {
	var out []Change
	for _, c := range cs {
		rc := Change{Kind: c.Kind.String(), Name: c.Name, Value: c.Value, Index: c.Index, Addr: c.Addr,
			Args: c.Args, Reason: c.Reason, BodySize: c.BodySize}
		out = append(out, rc)
	}
	return out
}

func (s *session) Abort(ctx context.Context, m milter.Macros) {
	s.next.Abort(ctx, m)
	s.finish()
}

func (s *session) Close(ctx context.Context) {
	s.next.Close(ctx)
	s.finish()
	if !s.emitted && s.conn.Format != 0 && (s.b.sample == nil || s.b.sample()) {
		r := s.conn
		r.Time = time.Now().UTC()
		s.emitted = true
		s.b.sink(&r)
	}
}

// finish hands the current transaction to the sink.
func (s *session) finish() {
	if s.cur != nil {
		r := s.cur
		s.cur = nil
		s.emitted = true
		s.b.sink(r)
	}
}
