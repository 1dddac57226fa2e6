package milter

import (
	"testing"

	gomilter "github.com/d--j/go-milter"
)

// postfixV6Offer is what Postfix offers with milter_protocol = 6
// (MILTER8_V6_PROTO_MASK): every NO*/NR* step, SKIP, RCPT_REJ and
// HDR_LEADSPC. Sendmail 8.14+ offers the same set.
const postfixV6Offer = gomilter.OptNoConnect | gomilter.OptNoHelo | gomilter.OptNoMailFrom | gomilter.OptNoRcptTo |
	gomilter.OptNoBody | gomilter.OptNoHeaders | gomilter.OptNoEOH | gomilter.OptNoUnknown | gomilter.OptNoData |
	gomilter.OptSkip | gomilter.OptRcptRej | gomilter.OptNoConnReply | gomilter.OptNoHeloReply |
	gomilter.OptNoMailReply | gomilter.OptNoRcptReply | gomilter.OptNoDataReply | gomilter.OptNoUnknownReply |
	gomilter.OptNoHeaderReply | gomilter.OptNoEOHReply | gomilter.OptNoBodyReply | gomilter.OptHeaderLeadingSpace

func TestProtocolForNeeds(t *testing.T) {
	const always = gomilter.OptHeaderLeadingSpace | gomilter.OptNoUnknown | gomilter.OptNoUnknownReply |
		gomilter.OptNoHeaderReply | gomilter.OptNoEOHReply | gomilter.OptNoBodyReply | gomilter.OptNoEOH
	const noEnvelopeReplies = gomilter.OptNoConnReply | gomilter.OptNoHeloReply | gomilter.OptNoMailReply | gomilter.OptNoRcptReply
	const noData = gomilter.OptNoData | gomilter.OptNoDataReply
	const noContent = gomilter.OptNoBody | gomilter.OptNoHeaders
	cases := []struct {
		name  string
		needs Needs
		want  gomilter.OptProtocol
	}{
		{"all", Needs{All: true, Body: false}, gomilter.OptHeaderLeadingSpace},
		{"nothing", Needs{}, always | noEnvelopeReplies | noData | noContent},
		{"reference policy", Needs{MailReply: true, RcptReply: true, Headers: true},
			always | gomilter.OptNoConnReply | gomilter.OptNoHeloReply | noData | gomilter.OptNoBody},
		{"body read at end of message", Needs{MailReply: true, RcptReply: true, Headers: true, Body: true},
			always | gomilter.OptNoConnReply | gomilter.OptNoHeloReply | noData},
		{"connect and helo only", Needs{ConnectReply: true, HeloReply: true},
			always | gomilter.OptNoMailReply | gomilter.OptNoRcptReply | noData | noContent},
		{"data and rejected recipients", Needs{RcptReply: true, Data: true, RejectedRcpts: true},
			always | gomilter.OptNoConnReply | gomilter.OptNoHeloReply | gomilter.OptNoMailReply | noContent | gomilter.OptRcptRej},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := protocolFor(c.needs); got != c.want {
				t.Errorf("protocolFor = %#x, want %#x", uint32(got), uint32(c.want))
			}
			needs := c.needs
			_, _, proto, _, err := negotiator(func() Needs { return needs })(6, 6, gomilter.AllClientSupportedActionMasks, 0, postfixV6Offer, 0, gomilter.DataSize64K)
			if err != nil || proto != c.want {
				t.Errorf("against the Postfix offer: %#x %v, want %#x", uint32(proto), err, uint32(c.want))
			}
			if stale := staleNegotiation(proto, needs); stale != 0 {
				t.Errorf("a fresh negotiation reports stale flags %#x", uint32(stale))
			}
		})
	}
	// An MTA that offers none of the steps gets every event with a reply.
	_, _, proto, _, err := negotiator(func() Needs { return Needs{} })(2, 6, gomilter.AllClientSupportedActionMasks, 0, 0, 0, gomilter.DataSize64K)
	if err != nil || proto != 0 {
		t.Errorf("against an empty offer: %#x %v", uint32(proto), err)
	}
	// After a reload that adds a body callout, a connection negotiated
	// without the body is reported.
	if stale := staleNegotiation(protocolFor(Needs{}), Needs{Body: true}); stale != noContent {
		t.Errorf("stale flags %#x, want %#x", uint32(stale), uint32(noContent))
	}
	// And one negotiated for headers only, after a reload that reads the body.
	if stale := staleNegotiation(protocolFor(Needs{Headers: true}), Needs{Headers: true, Body: true}); stale != gomilter.OptNoBody {
		t.Errorf("stale flags %#x, want %#x", uint32(stale), uint32(gomilter.OptNoBody))
	}
}
