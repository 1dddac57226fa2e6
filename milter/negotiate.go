package milter

import (
	"fmt"

	gomilter "github.com/d--j/go-milter"
)

// Needs says which SMTP stages the policy looks at, so that the MTA is
// asked only for those events and replies ("negotiate by need").
type Needs struct {
	// All forces every event with a reply, for comparison and debugging.
	All bool
	// ConnectReply, HeloReply, MailReply and RcptReply are true when
	// something runs at that stage whose verdict the MTA must wait for.
	// The events themselves are always sent: they fill the context that
	// later stages read. Without a reply, a verdict the server makes on
	// its own (too many sessions, engine unavailable) reaches the MTA at
	// the next stage that has one; end of message always has one.
	ConnectReply bool
	HeloReply    bool
	MailReply    bool
	RcptReply    bool
	// Data is true when something must run (or be able to reject) at DATA.
	Data bool
	// Headers is true when end-of-message code runs: the header fields
	// are sent (without replies). Without Headers or Body, neither header
	// fields nor body are sent.
	Headers bool
	// Body is true when end-of-message code may read the body; without
	// it the body is not sent, and Message.BodyOmitted says so.
	Body bool
	// RejectedRcpts asks the MTA to also report recipients it refused.
	RejectedRcpts bool
}

// wantedActions are the modifications luamilter may make at end of message.
const wantedActions = gomilter.OptAddHeader | gomilter.OptChangeBody | gomilter.OptAddRcpt |
	gomilter.OptRemoveRcpt | gomilter.OptChangeHeader | gomilter.OptQuarantine |
	gomilter.OptChangeFrom | gomilter.OptAddRcptWithArgs | gomilter.OptSetMacros

// protocolFor turns Needs into the protocol flags to request. Headers and
// body chunks never need an answer from luamilter: everything is decided
// at end of message, so their replies are switched off when the MTA
// allows it. Connect, HELO, MAIL and RCPT are always sent, because the
// context variables are filled there, but answered only when a callout
// runs there. Postfix (milter_protocol 6) and Sendmail 8.14+ offer every
// one of these flags; a flag the MTA does not offer is simply not used.
func protocolFor(n Needs) gomilter.OptProtocol {
	p := gomilter.OptHeaderLeadingSpace | gomilter.OptNoUnknown | gomilter.OptNoUnknownReply
	if n.All {
		return gomilter.OptHeaderLeadingSpace
	}
	p |= gomilter.OptNoHeaderReply | gomilter.OptNoEOHReply | gomilter.OptNoBodyReply | gomilter.OptNoEOH
	for _, r := range [...]struct {
		need bool
		flag gomilter.OptProtocol
	}{
		{n.ConnectReply, gomilter.OptNoConnReply}, {n.HeloReply, gomilter.OptNoHeloReply},
		{n.MailReply, gomilter.OptNoMailReply}, {n.RcptReply, gomilter.OptNoRcptReply},
	} {
		if !r.need {
			p |= r.flag
		}
	}
	if !n.Data {
		p |= gomilter.OptNoData | gomilter.OptNoDataReply
	}
	if !n.Body {
		p |= gomilter.OptNoBody
		if !n.Headers {
			p |= gomilter.OptNoHeaders
		}
	}
	if n.RejectedRcpts {
		p |= gomilter.OptRcptRej
	}
	return p
}

// negotiator returns go-milter's negotiation callback. It takes from the
// MTA's offer what luamilter wants and can live without the rest, so an
// MTA that lacks, say, SMFIP_NR_HDR still works (just with more round trips).
func negotiator(needs func() Needs) gomilter.NegotiationCallbackFunc {
	return func(mtaVersion, milterVersion uint32, mtaActions, _ gomilter.OptAction, mtaProtocol, _ gomilter.OptProtocol, offered gomilter.DataSize) (uint32, gomilter.OptAction, gomilter.OptProtocol, gomilter.DataSize, error) {
		if mtaVersion < 2 {
			return 0, 0, 0, 0, fmt.Errorf("milter protocol version %d is too old", mtaVersion)
		}
		version := min(mtaVersion, gomilter.MaxServerProtocolVersion)
		actions := wantedActions & mtaActions
		proto := protocolFor(needs()) & mtaProtocol
		return version, actions, proto, offered, nil
	}
}

// staleNegotiation reports the protocol flags negotiated for a connection
// that the current scripts can't live with: events or replies switched
// off that they need. It happens only when a reload lands between the
// negotiation and the start of the session.
func staleNegotiation(negotiated gomilter.OptProtocol, now Needs) gomilter.OptProtocol {
	return negotiated &^ protocolFor(now)
}
