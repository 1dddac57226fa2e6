package milter

import (
	"strconv"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"
)

// TestCannedReplies checks every named reply: its action is the one its
// code stands for, its enhanced status code has the code's class, and
// go-milter takes it as written, so the MTA gets these exact words.
func TestCannedReplies(t *testing.T) {
	tests := []struct {
		name string
		v    Verdict
		want Action
	}{
		{"BusyReply", BusyReply(), TempFail},
		{"OversizeReply", OversizeReply(), Reject},
		{"EngineUnavailableReply", EngineUnavailableReply(), TempFail},
		{"BufferFailedReply", BufferFailedReply(), TempFail},
		{"InternalErrorReply", InternalErrorReply(), TempFail},
		{"ChangesFailedReply", ChangesFailedReply(), TempFail},
		{"ErrorTempFailReply", ErrorTempFailReply("policy script error"), TempFail},
		{"ErrorRejectReply", ErrorRejectReply("policy script error"), Reject},
		{"PolicyUnavailableReply", PolicyUnavailableReply(), TempFail},
		{"TooManyRecipientsReply", TooManyRecipientsReply(), TempFail},
		{"ScriptReply 5xx default", ScriptReply(550, ""), Reject},
		{"ScriptReply 4xx default", ScriptReply(450, " "), TempFail},
		{"DisconnectReply default", DisconnectReply(0, ""), TempFail},
		{"DisconnectReply 5xx", DisconnectReply(554, "5.7.1 go away"), TempFail},
		{"DiscardReason", parseReply(t, DiscardReason), Reject},
		{"InvalidDiscardReason", parseReply(t, InvalidDiscardReason), Reject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			if v.Action != tc.want || CodeAction(v.Code) != v.Action {
				t.Errorf("%s: action %s, code %d stands for %s; want %s", v, v.Action, v.Code, CodeAction(v.Code), tc.want)
			}
			if class := strconv.Itoa(v.Code)[:1] + "."; !strings.HasPrefix(v.Text, class) {
				t.Errorf("%s: enhanced status code is not of class %sx.x", v, class)
			}
			if strings.ContainsAny(v.Text, "\r\n") {
				t.Errorf("%s: canned text spans lines", v)
			}
			if _, err := gomilter.RejectWithCodeAndReason(uint16(v.Code), v.Text); err != nil {
				t.Errorf("%s: go-milter refuses it: %v", v, err)
			}
		})
	}
}

func parseReply(t *testing.T, s string) Verdict {
	code, text, _ := strings.Cut(s, " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		t.Fatalf("%q does not start with a code", s)
	}
	return Reply(n, text)
}

// TestScriptAndDisconnectReplies checks the replies made from a
// script's code and text: the words are the script's unless blank, and
// a disconnect always goes out as 421.
func TestScriptAndDisconnectReplies(t *testing.T) {
	tests := []struct {
		name string
		got  Verdict
		want string
	}{
		{"script text kept", ScriptReply(550, "5.1.1 no such user"), "reject 550 5.1.1 no such user"},
		{"script 5xx default", ScriptReply(554, ""), "reject 554 5.7.1 Rejected by policy"},
		{"script 4xx default", ScriptReply(451, "\t"), "tempfail 451 4.7.1 Temporarily rejected by policy"},
		{"disconnect 421 text kept", DisconnectReply(421, "4.7.1 as written"), "tempfail 421 4.7.1 as written"},
		// Postfix takes a reply whose enhanced code's class is not the
		// code's for malformed and applies milter_default_action instead.
		{"disconnect 421 with a 5.x.x text", DisconnectReply(421, "5.7.1 Bye"), "tempfail 421 4.7.1 Bye"},
		{"disconnect 421 with a 2.x.x text", DisconnectReply(421, "2.0.0 Bye"), "tempfail 421 4.0.0 Bye"},
		{"disconnect 550 becomes 421", DisconnectReply(550, "5.7.1 Bye"), "tempfail 421 4.7.1 Bye"},
		{"disconnect 250 becomes 421", DisconnectReply(250, "2.0.0 Bye"), "tempfail 421 4.0.0 Bye"},
		{"disconnect plain text", DisconnectReply(550, "Bye"), "tempfail 421 Bye"},
		{"disconnect default", DisconnectReply(0, ""), "tempfail 421 4.7.0 Closing connection"},
	}
	for _, tc := range tests {
		if got := tc.got.String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
