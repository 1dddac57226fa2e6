package policy

import (
	"context"
	"slices"
	"strings"

	"github.com/luamilter/luamilter/milter"
)

// EndOfMessage runs the data phases: validate_data and validate_data_spool
// for the whole message, validate_data_spool_each_rcpt and
// validate_set_binding once per recipient, then computes the changes.
func (s *session) EndOfMessage(ctx context.Context, mm *milter.Message, macros milter.Macros) milter.Result {
	defer s.settle()
	s.macro = macros
	s.setQueueID(macros)
	if s.msg == nil {
		s.msg = newMessage(s, "", "")
	}
	msg := s.msg
	msg.load(mm)
	if len(msg.headerValues("Date")) == 0 {
		s.mess["rfc2822_date_missing"] = "true" // a predefined message variable on Momentum
	}
	res := s.offeredOnly(s.dataPhases(ctx, msg))
	if a := res.Verdict.Action; a != milter.Continue && a != milter.Accept {
		msg.releaseSpools() // no body will be sent
	}
	s.account(ctx, res.Verdict)
	s.summarize(res)
	return res
}

func (s *session) dataPhases(ctx context.Context, msg *message) milter.Result {
	ud := s.objs.message(msg)
	for _, callout := range []string{"validate_data", "validate_data_spool"} {
		msg.phase = callout
		s.beginPhase()
		if failed, v := s.runModules(ctx, callout, ud, s.objs.ac, s.objs.vctx); failed {
			return milter.Result{Verdict: v}
		}
		if v := s.verdict(); v.Action != milter.Continue {
			return milter.Result{Verdict: v}
		}
	}
	dropped, res, done := s.eachRecipient(ctx, msg)
	if done {
		return res
	}
	if s.gen.rt.Defines("validate_set_binding") {
		msg.phase = "validate_set_binding"
		for _, r := range msg.recipients() {
			if dropped[strings.ToLower(r.addr)] {
				continue
			}
			msg.current = r.addr
			if failed, v := s.runModules(ctx, "validate_set_binding", s.objs.message(msg)); failed {
				return milter.Result{Verdict: v}
			}
		}
	}
	if !msg.discard { // a discarded message is never queued, so never signed
		if v, done := s.finalValidation(ctx, msg); done {
			return milter.Result{Verdict: v}
		}
	}
	msg.phase = ""
	if msg.discard {
		return milter.Result{Verdict: milter.Verdict{Action: milter.Discard}}
	}
	changes := msg.changes()
	if len(dropped) > 0 {
		for _, r := range msg.recipients() {
			if dropped[strings.ToLower(r.addr)] {
				changes = append(changes, milter.Change{Kind: milter.DelRcpt, Addr: r.addr})
			}
		}
	}
	return milter.Result{Verdict: milter.Verdict{Action: milter.Continue}, Changes: changes}
}

// finalValidation runs core_final_validation(msg, ac, vctx), Momentum's
// last hook before the message is queued and its DKIM signing point,
// once for the message: a milter has one copy for every recipient, so
// its edits (a signature header) apply to all, as validate_data_spool's
// do. Momentum's hook returns nothing and can't refuse the message, so a
// code set there is logged and ignored; a script error still gets the
// --on-error action, since a failed signer must not pass unnoticed.
func (s *session) finalValidation(ctx context.Context, msg *message) (milter.Verdict, bool) {
	const hook = "core_final_validation"
	if !s.gen.rt.Defines(hook) {
		return milter.Verdict{}, false
	}
	msg.phase, msg.current = hook, ""
	s.beginPhase()
	if failed, v := s.runModules(ctx, hook, s.objs.message(msg), s.objs.ac, s.objs.vctx); failed {
		return v, true
	}
	if s.reply.code != 0 {
		s.modLog(s.reply.module).Warn("a code set in core_final_validation can't refuse the message (Momentum's hook returns nothing); ignored",
			"code", s.reply.code, "text", s.reply.text)
		s.beginPhase()
	}
	return milter.Verdict{}, false
}

// eachRecipient runs validate_data_spool_each_rcpt per recipient. A 5xx
// or msg:discard() drops that recipient. As on Momentum, the client hears
// of a failure only when every recipient was rejected: then the message
// gets the last reply. When every recipient was dropped but some only
// discarded, the client sees success and nothing is delivered (a
// discard); the rejected ones get no bounce either way. A 4xx for one
// recipient can't be expressed after DATA, so it tempfails the message:
// retrying all is safe, dropping one would lose it.
func (s *session) eachRecipient(ctx context.Context, msg *message) (map[string]bool, milter.Result, bool) {
	if !s.gen.rt.Defines("validate_data_spool_each_rcpt") {
		return nil, milter.Result{}, false
	}
	dropped := map[string]bool{}
	rcpts := msg.recipients()
	multi := len(rcpts) > 1
	var before []hdr
	var beforeBody bodyEdit
	if multi {
		before = append([]hdr(nil), msg.headers...)
		beforeBody = msg.saveBody()
	}
	msg.phase = "validate_data_spool_each_rcpt"
	var last milter.Verdict
	rejects := 0
	for _, r := range rcpts {
		msg.current = r.addr
		msg.dropOne = false
		s.beginPhase()
		if failed, v := s.runModules(ctx, "validate_data_spool_each_rcpt", s.objs.message(msg), s.objs.ac, s.objs.vctx); failed {
			return nil, milter.Result{Verdict: v}, true
		}
		v := s.verdict()
		switch {
		case v.Action == milter.TempFail:
			return nil, milter.Result{Verdict: v}, true
		case v.Action == milter.Reject:
			dropped[strings.ToLower(r.addr)] = true
			last = v
			rejects++
			s.logger().Info("recipient rejected at end of message; a milter can't send a bounce for it", "rcpt", r.addr, "reply", v.String())
			s.trail.rejectAtEOM(r.addr, v)
		case msg.dropOne || (msg.discard && multi):
			dropped[strings.ToLower(r.addr)] = true
			msg.discard = false
		}
	}
	if multi && (!slices.Equal(before, msg.headers) || msg.saveBody().gen != beforeBody.gen) {
		msg.headers = before
		msg.restoreBody(beforeBody)
		s.logger().Warn("per-recipient header or body edits in validate_data_spool_each_rcpt can't be expressed through a milter with several recipients; none were applied")
	}
	if len(rcpts) > 0 && len(dropped) == len(rcpts) {
		if rejects == len(rcpts) {
			return dropped, milter.Result{Verdict: last}, true
		}
		return dropped, milter.Result{Verdict: milter.Verdict{Action: milter.Discard}}, true
	}
	return dropped, milter.Result{}, false
}

// account tells msys.audit whether the message was received or rejected.
func (s *session) account(ctx context.Context, v milter.Verdict) {
	a := s.eng.cfg.Accounting
	if a == nil || s.peer.IP == nil {
		return
	}
	var err error
	if v.Action == milter.Reject || v.Action == milter.TempFail {
		err = a.Rejection(ctx, s.peer.IP)
	} else {
		err = a.Reception(ctx, s.peer.IP)
	}
	if err != nil {
		s.logger().Warn("session accounting", "err", err)
	}
}
