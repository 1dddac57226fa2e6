package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/d--j/go-milter"
)

// The tests in this file use a plain go-milter milter instead of luamilter
// to pin down what the MTAs themselves do with milter replies. The
// luamilter tests' expectations (expectReply, connectReply) rest on them.

// replyCase is one milter verdict and the stage it is given at.
type replyCase struct {
	name   string
	ehlo   string // EHLO argument; "" means client.test
	from   string // sender local part
	rcpt   string // recipient local part; "" means "rcpt"
	stage  string // "ehlo", "mail", "rcpt", "data" or "eom"
	want   []string
	closed bool
}

var referenceCases = []replyCase{
	{name: "ehlo reject", ehlo: "reject-ehlo.client.test", stage: "ehlo", want: []string{"550 5.7.1 ehlo refused"}},
	{name: "mail reject", from: "reject", stage: "mail", want: []string{"553 5.7.1 sender refused"}},
	{name: "mail tempfail", from: "temp", stage: "mail", want: []string{"451 4.7.1 try later"}},
	{name: "mail multi-line", from: "multi", stage: "mail", want: []string{"550-5.7.1 first line", "550 5.7.1 second line"}},
	{name: "mail 421", from: "bye", stage: "mail", want: []string{"421 4.7.0 closing"}, closed: true},
	{name: "rcpt reject", from: "s", rcpt: "nobody", stage: "rcpt", want: []string{"550 5.1.1 no such user here"}},
	{name: "rcpt tempfail", from: "s", rcpt: "busy", stage: "rcpt", want: []string{"450 4.2.1 mailbox busy"}},
	{name: "data reject", from: "reject-data", stage: "data", want: []string{"554 5.7.1 data refused"}},
	{name: "eom reject", from: "reject-eom", stage: "eom", want: []string{"550 5.7.1 content refused"}},
	{name: "eom tempfail", from: "temp-eom", stage: "eom", want: []string{"451 4.7.1 content scan unavailable"}},
}

// TestMTAReplyPassThrough records how each MTA relays milter replies at
// every stage.
func TestMTAReplyPassThrough(t *testing.T) {
	s := requireSuite(t)
	serveMilter(t, s, milter.WithMilter(func() milter.Milter { return &replyMilter{} }))
	forEachMTA(t, s, func(t *testing.T, m *mta) {
		for _, tc := range referenceCases {
			t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
				got, address, closed := runReplyCase(t, m, tc)
				t.Logf("%s %s: %q", m.name, tc.name, got.lines)
				if want := m.expectReply(tc.stage, address, tc.want); !slices.Equal(got.lines, want) {
					t.Errorf("reply\n got %q\nwant %q", got.lines, want)
				}
				if tc.closed != closed {
					t.Errorf("connection closed = %v, want %v", closed, tc.closed)
				}
			})
		}
	})
}

// runReplyCase runs one SMTP session up to the case's stage and returns
// the reply at that stage, the address of that command and whether the
// MTA closed the connection afterwards.
func runReplyCase(t *testing.T, m *mta, tc replyCase) (reply, string, bool) {
	t.Helper()
	id := uniq()
	from := tc.from + "+" + id + "@example.org"
	local := tc.rcpt
	if local == "" {
		local = "rcpt"
	}
	rcpt := local + "+" + id + "@example.com"
	ehlo := tc.ehlo
	if ehlo == "" {
		ehlo = "client.test"
	}
	c := dialSMTP(t, m)
	r := c.mustCmd("EHLO " + ehlo)
	var got reply
	address := ""
	switch tc.stage {
	case "ehlo":
		// Both MTAs answer EHLO with 250 and give a HELO-stage verdict
		// in reply to the next commands.
		got = r
		if r.class() == 2 {
			address = from
			got = c.mustCmd("MAIL FROM:<" + from + ">")
		}
	default:
		if r.code != 250 {
			t.Fatalf("EHLO: %q", r)
		}
		res := c.send(txn{from: from, rcpts: []string{rcpt},
			msg: message(from, rcpt, tc.name, nil, "reply test\n")})
		switch tc.stage {
		case "mail":
			got, address = res.mail, from
		case "rcpt":
			if len(res.rcpts) > 0 {
				got = res.rcpts[0]
			}
			address = rcpt
		case "data":
			got = res.data
		case "eom":
			got = res.final
		}
	}
	closed := c.closed(tc.closed)
	if got.class() != 2 {
		m.assertNotDelivered(t, rcpt)
	}
	return got, address, closed
}

// replyMilter answers with fixed verdicts chosen by EHLO name, sender and
// recipient local parts; one instance per milter connection.
type replyMilter struct {
	milter.NoOpMilter
	from string
}

func (*replyMilter) Helo(name string, _ milter.Modifier) (*milter.Response, error) {
	if strings.HasPrefix(name, "reject-ehlo") {
		return milter.RejectWithCodeAndReason(550, "5.7.1 ehlo refused")
	}
	return milter.RespContinue, nil
}

func (r *replyMilter) MailFrom(from, _ string, _ milter.Modifier) (*milter.Response, error) {
	r.from = from
	local, _, _ := strings.Cut(from, "+")
	switch local {
	case "multi":
		// go-milter itself repeats the first line's enhanced status code
		// on every further line.
		return milter.RejectWithCodeAndReason(550, "5.7.1 first line\r\nsecond line")
	case "reject":
		return milter.RejectWithCodeAndReason(553, "5.7.1 sender refused")
	case "temp":
		return milter.RejectWithCodeAndReason(451, "4.7.1 try later")
	case "bye":
		return milter.RejectWithCodeAndReason(421, "4.7.0 closing")
	}
	return milter.RespContinue, nil
}

func (*replyMilter) RcptTo(rcpt, _ string, _ milter.Modifier) (*milter.Response, error) {
	switch local, _, _ := strings.Cut(rcpt, "+"); local {
	case "nobody":
		return milter.RejectWithCodeAndReason(550, "5.1.1 no such user here")
	case "busy":
		return milter.RejectWithCodeAndReason(450, "4.2.1 mailbox busy")
	}
	return milter.RespContinue, nil
}

func (r *replyMilter) Data(_ milter.Modifier) (*milter.Response, error) {
	if strings.HasPrefix(r.from, "reject-data+") {
		return milter.RejectWithCodeAndReason(554, "5.7.1 data refused")
	}
	return milter.RespContinue, nil
}

func (r *replyMilter) EndOfMessage(_ milter.Modifier) (*milter.Response, error) {
	switch {
	case strings.HasPrefix(r.from, "reject-eom+"):
		return milter.RejectWithCodeAndReason(550, "5.7.1 content refused")
	case strings.HasPrefix(r.from, "temp-eom+"):
		return milter.RejectWithCodeAndReason(451, "4.7.1 content scan unavailable")
	}
	return milter.RespAccept, nil
}

// TestMTAConnectReplies shows what the MTAs answer when a milter rejects
// at connect: both replace the milter's text with their own.
func TestMTAConnectReplies(t *testing.T) {
	s := requireSuite(t)
	for _, code := range []uint16{554, 421} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			serveMilter(t, s, milter.WithMilter(func() milter.Milter { return connectMilter{code: code} }))
			forEachMTA(t, s, func(t *testing.T, m *mta) {
				got, closed := connectVerdict(t, m)
				t.Logf("%s: %q closed=%v", m.name, got.lines, closed)
				if want := m.connectReply(int(code)); !slices.Equal(got.lines, want) {
					t.Errorf("connect verdict\n got %q\nwant %q", got.lines, want)
				}
				if wantClosed := code == 421; closed != wantClosed {
					t.Errorf("connection closed = %v, want %v", closed, wantClosed)
				}
			})
		})
	}
}

// connectMilter rejects every connection with a fixed code.
type connectMilter struct {
	milter.NoOpMilter
	code uint16
}

func (c connectMilter) Connect(_, _ string, _ uint16, _ string, _ milter.Modifier) (*milter.Response, error) {
	if c.code/100 == 4 {
		return milter.RejectWithCodeAndReason(c.code, "4.7.0 milter says go away")
	}
	return milter.RejectWithCodeAndReason(c.code, "5.7.1 milter says no")
}
