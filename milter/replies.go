package milter

import "strings"

// The canned replies: every SMTP reply luamilter gives when luamilter
// itself, not a script, decides its words. Each is a function (or a
// constant) so that no caller can change what another sends, and each
// text lives only here, so the MTA's logs and the tests that quote them
// follow one source.

// BusyReply refuses a session over Config.MaxSessions. 421 makes the MTA
// close the session, so the client retries later instead of holding a
// connection the milter can't serve.
func BusyReply() Verdict {
	return Reply(421, "4.3.2 Too many concurrent sessions, try again later")
}

// OversizeReply refuses a message over Config.MaxMessageSize: a
// permanent failure, since the same message will be too big again.
func OversizeReply() Verdict {
	return Reply(552, "5.3.4 Message size exceeds fixed limit")
}

// EngineUnavailableReply answers every command of a session the Backend
// could not start.
func EngineUnavailableReply() Verdict {
	return Reply(451, "4.3.0 Policy engine unavailable, try again later")
}

// BufferFailedReply tempfails a message whose body could not be kept
// (a spool file could not be written).
func BufferFailedReply() Verdict {
	return Reply(451, "4.3.0 Temporary local problem buffering the message")
}

// InternalErrorReply answers the command in which luamilter hit a bug
// (a Go panic), and every later one of that session.
func InternalErrorReply() Verdict {
	return Reply(451, "4.3.0 Temporary local problem, try again later")
}

// ChangesFailedReply tempfails an accepted message whose changes the MTA
// could not be sent: accepting it without them would pass a message the
// policy meant to alter.
func ChangesFailedReply() Verdict {
	return Reply(451, "4.3.0 Temporary local problem applying the policy's changes")
}

// ErrorTempFailReply tempfails a command because the policy failed
// (a script error, timeout or resource limit), with reason saying how,
// e.g. "policy script timeout". It is the on-error action "tempfail".
func ErrorTempFailReply(reason string) Verdict {
	return Reply(451, "4.3.0 Temporary failure: "+reason+", try again later")
}

// ErrorRejectReply rejects a message because the policy failed, with
// reason as for ErrorTempFailReply. It is the on-error action "reject".
func ErrorRejectReply(reason string) Verdict {
	return Reply(554, "5.3.0 Message rejected: "+reason)
}

// PolicyUnavailableReply tempfails a command no script could run for
// (no Lua state to be had). It is a tempfail whatever the on-error
// action: the fault is luamilter's, not the message's.
func PolicyUnavailableReply() Verdict {
	return ErrorTempFailReply("policy unavailable")
}

// TooManyRecipientsReply defers a recipient to a later transaction:
// RFC 5321's "too many recipients", which clients answer by sending the
// rest of the recipients again, in a new transaction.
func TooManyRecipientsReply() Verdict {
	return Reply(452, "4.5.3 Too many recipients")
}

// ScriptReply is the verdict for a reply a script set with code and
// text. The script decides the words; only a blank text gets a default
// for the code's class. A code that does not refuse (see CodeAction)
// continues, text untouched.
func ScriptReply(code int, text string) Verdict {
	if strings.TrimSpace(text) == "" {
		switch CodeAction(code) {
		case Reject:
			text = "5.7.1 Rejected by policy"
		case TempFail:
			text = "4.7.1 Temporarily rejected by policy"
		}
	}
	return Reply(code, text)
}

// disconnectCode is the only reply after which the MTAs close the SMTP
// session on a milter's word.
const disconnectCode = 421

// DisconnectReply is the reply that ends the SMTP session for a script
// that asked for it with code and text. Any code other than 421 becomes
// 421, and an enhanced status code of class 5 or 2 at the start of the
// text becomes class 4 so the two agree (Postfix takes a reply whose
// classes differ for malformed and applies its milter_default_action
// instead). A blank text gets a default.
func DisconnectReply(code int, text string) Verdict {
	if strings.TrimSpace(text) == "" {
		text = "4.7.0 Closing connection"
	}
	if len(text) > 2 && (text[0] == '5' || text[0] == '2') && text[1] == '.' {
		text = "4" + text[1:]
	}
	return Reply(disconnectCode, text)
}

// DiscardReason is the reason a message discarded by a script without
// one is logged with. It has the form of an SMTP reply, as Momentum's
// msg:discard reasons do, but no client sees it: a discarded message is
// accepted.
const DiscardReason = "550 5.7.0 discarded by policy"

// InvalidDiscardReason replaces a discard reason that does not start
// with an SMTP reply code.
const InvalidDiscardReason = "550 5.7.1 [internal] discarded by policy"
