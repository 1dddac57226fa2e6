package policy

import (
	"context"
	"maps"
	"strings"

	"github.com/luamilter/luamilter/callout"
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
	msg.Load(mm)
	if len(msg.HeaderValues("Date")) == 0 {
		s.mess["rfc2822_date_missing"] = "true" // a predefined message variable on Momentum
	}
	res := s.offeredOnly(s.dataPhases(ctx, msg))
	if a := res.Verdict.Action; a != milter.Continue && a != milter.Accept {
		msg.ReleaseSpools() // no body will be sent
	}
	s.account(ctx, res.Verdict)
	s.summarize(res)
	return res
}

func (s *session) dataPhases(ctx context.Context, msg *message) milter.Result {
	ud := s.objs.message(msg)
	for _, name := range []string{callout.ValidateData, callout.ValidateDataSpool} {
		msg.phase = name
		s.beginPhase()
		if failed, v := s.runModules(ctx, name, ud, s.objs.ac, s.objs.vctx); failed {
			return milter.Result{Verdict: v}
		}
		if v := s.verdict(); v.Action != milter.Continue {
			return milter.Result{Verdict: v}
		}
	}
	if res, done := s.perRecipient(ctx, msg); done {
		return res
	}
	if !msg.Discard { // a discarded message is never queued, so never signed
		if v, done := s.finalValidation(ctx, msg); done {
			return milter.Result{Verdict: v}
		}
	}
	msg.phase = ""
	if msg.Discard {
		return milter.Result{Verdict: milter.Verdict{Action: milter.Discard}}
	}
	msg.quarantineFrom(s.mess)
	changes := msg.Changes()
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
	const hook = callout.CoreFinalValidation
	if !s.gen.rt.Defines(hook) {
		return milter.Verdict{}, false
	}
	msg.phase, msg.Current = hook, ""
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

// perRecipient runs validate_data_spool_each_rcpt for every recipient,
// then validate_set_binding for every recipient still there, each on the
// recipient's own copy of the message and of its context dictionary
// (rcptcopy.go), and merges the copies back into msg.
//
// A 5xx or msg:discard() drops that recipient. As on Momentum, the
// client hears of a failure only when every recipient was rejected: then
// the message gets the last reply. When every recipient was dropped but
// some only discarded, the client sees success and nothing is delivered
// (a discard); the rejected ones get no bounce either way. A 4xx for one
// recipient can't be expressed after DATA, so it tempfails the message:
// retrying all is safe, dropping one would lose it.
func (s *session) perRecipient(ctx context.Context, msg *message) (milter.Result, bool) {
	each, bind := s.gen.rt.Defines(callout.ValidateDataSpoolEachRcpt), s.gen.rt.Defines(callout.ValidateSetBinding)
	if !each && !bind {
		return milter.Result{}, false
	}
	base := s.mess
	var copies []*rcptCopy
	for _, r := range msg.Recipients() {
		copies = append(copies, &rcptCopy{addr: r.Addr, msg: msg.copyFor(r.Addr), mess: maps.Clone(base)})
	}
	// Whatever happens, the session is back on the whole message, which
	// owns every spool the copies made, and on the message context: as
	// it was, or as the copies merge it.
	after := base
	defer func() {
		s.msg, s.mess = msg, after
		for _, c := range copies {
			msg.AdoptSpools(c.msg.Message)
		}
	}()
	enter := func(c *rcptCopy, name string) {
		s.msg, s.mess = c.msg, c.mess
		c.msg.phase = name
		s.beginPhase()
	}
	var last milter.Verdict
	rejects := 0
	for _, c := range copies {
		if !each {
			break
		}
		enter(c, callout.ValidateDataSpoolEachRcpt)
		if failed, v := s.runModules(ctx, callout.ValidateDataSpoolEachRcpt, s.objs.message(c.msg), s.objs.ac, s.objs.vctx); failed {
			return milter.Result{Verdict: v}, true
		}
		v := s.verdict()
		switch {
		case v.Action == milter.TempFail:
			return milter.Result{Verdict: v}, true
		case v.Action == milter.Reject:
			c.dropped = true
			last = v
			rejects++
			s.logger().Info("recipient rejected at end of message; a milter can't send a bounce for it", "rcpt", c.addr, "reply", v.String())
			s.trail.rejectAtEOM(c.addr, v)
		case c.msg.Discard:
			c.dropped = true
		}
	}
	for _, c := range copies {
		if !bind || c.dropped {
			continue
		}
		enter(c, callout.ValidateSetBinding)
		if failed, v := s.runModules(ctx, callout.ValidateSetBinding, s.objs.message(c.msg)); failed {
			return milter.Result{Verdict: v}, true
		}
		c.dropped = c.msg.Discard
	}
	after = mergeContext(base, copies)
	dropped := 0
	for _, c := range copies {
		if c.dropped {
			dropped++
			msg.RemoveRecipient(c.addr)
		}
	}
	if len(copies) > 0 && dropped == len(copies) {
		if rejects == len(copies) {
			return milter.Result{Verdict: last}, true
		}
		return milter.Result{Verdict: milter.Verdict{Action: milter.Discard}}, true
	}
	if differ := msg.mergeCopies(copies); len(differ) > 0 {
		s.logger().Warn("per-recipient edits differ between recipients and can't be expressed through a milter; the message keeps them as before the per-recipient phases (per_recipient_edits = \"split\" takes one recipient per transaction)",
			"not_applied", strings.Join(differ, ", "), "recipients", len(copies)-dropped)
	}
	return milter.Result{}, false
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
