package policy

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/luamilter/luamilter/txn"
)

// # The message API: Momentum and milter
//
// Momentum's ec_message is the stored message itself; a milter only sees
// a copy and asks the MTA for changes at end of message. The scripts' msg
// object is a binding over package txn's model of the transaction, which
// keeps the received message, the edits and the diff into milter changes.
//
// What a milter can't do, and what luamilter does instead:
//
//   - Per-recipient copies. In validate_data_spool_each_rcpt and
//     validate_set_binding each recipient has its own copy (rcptcopy.go);
//     a milter has one message, so the copies merge back and edits that
//     differ between recipients are left out with a warning, unless the
//     split setting takes one recipient per transaction (split.go).
//     msg:discard() there removes that recipient.
//   - A 5xx for one recipient after DATA: the recipient is removed (the
//     MTA can't bounce it for us); a 4xx tempfails the whole message.
//   - Bindings and routing (msg:binding, binding_group, routing_domain):
//     no MTA equivalent through milter; logged, and the getters answer
//     "default" or the recipient's domain.
//   - EHLO capability edits (ac:esmtp_capability_add/remove): the MTA has
//     already answered EHLO; logged and ignored.
//   - Sending mail (msg:inject, msg:forward): the new message is
//     submitted over SMTP to the MTA (inject.go).
//   - msg.priority: settable (0 or 1) and read back; the MTA orders its
//     own queue, so it has no effect (logged once). msg.batch_id is the
//     message's own id, msg.recv_via the MTA's listener ({daemon_addr},
//     {daemon_port}), msg.recv_method msys.core.P_ESMTP.
//   - Quarantine is luamilter's own (msg:quarantine → SMFIR_QUARANTINE).

// message is a transaction's message as the scripts see it: the model of
// package txn plus what the Lua binding needs.
type message struct {
	*txn.Message
	s        *session
	phase    string         // callout running, for phase rules
	detached bool           // from msys.core.ec_message_new: not the session's message
	ud       *lua.LUserData // the scripts' msg object, made once
}

// newMessage starts the message of a transaction of s.
func newMessage(s *session, from, args string) *message {
	m := &message{Message: txn.New(from, args), s: s}
	m.Owner, m.OmittedBody = m, errBodyOmitted
	if s != nil {
		m.Logger = s.logFn
	}
	return m
}

// close ends the message: its spools are removed and its Lua object
// lets go of it.
func (m *message) close() {
	m.ud = nil
	m.Close()
}

// quarantineKey is the message context variable that quarantines the
// message, for scripts that can only set context.
const quarantineKey = "quarantine"

// quarantineFrom takes the quarantine reason from the message context
// when msg:quarantine gave none.
func (m *message) quarantineFrom(mess map[string]string) {
	if m.Quarantine == "" {
		m.Quarantine = mess[quarantineKey]
	}
}

// owner returns the message object a MIME part belongs to.
func owner(p *txn.Part) *message { return p.Msg().Owner.(*message) }
