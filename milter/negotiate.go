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
	// Data is true when something must run (or be able to reject) at DATA.
	Data bool
	// Body is true when end-of-message code reads the message; without
	// it, headers and body are not sent at all.
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
// allows it. Connect, HELO, MAIL and RCPT always keep their replies
// because the context variables are filled there.
func protocolFor(n Needs) gomilter.OptProtocol {
	p := gomilter.OptHeaderLeadingSpace | gomilter.OptNoUnknown | gomilter.OptNoUnknownReply
	if n.All {
		return gomilter.OptHeaderLeadingSpace
	}
	p |= gomilter.OptNoHeaderReply | gomilter.OptNoEOHReply | gomilter.OptNoBodyReply | gomilter.OptNoEOH
	if !n.Data {
		p |= gomilter.OptNoData | gomilter.OptNoDataReply
	}
	if !n.Body {
		p |= gomilter.OptNoBody | gomilter.OptNoHeaders
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
