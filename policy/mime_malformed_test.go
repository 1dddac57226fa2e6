package policy_test

import (
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// phishQP is a quoted-printable part with a bare CR before a soft line
// break, as phishing mail carries to break up words like "login".
const phishQP = "From: Sender <sender@example.org>\r\n" +
	"To: rcpt@example.com\r\n" +
	"Subject: account notice\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Dear customer, please verify your account.\r\n" +
	"Click here to l=\r\r\nogin and keep your account active.\r\n" +
	"Regards, the verify team\r\n"

// TestTextReplaceKeepsMalformedQP: text_replace on a part with a line
// that does not decode rewrites the lines that do and keeps that line
// and everything after it.
func TestTextReplaceKeepsMalformedQP(t *testing.T) {
	cases := []struct {
		name, lua string
		want      string // the replacement body
	}{
		{"message", `assert(msg:text_replace("verify", "check") == true)`,
			"Dear customer, please check your account.\r\n" +
				"Click here to l=\r\r\nogin and keep your account active.\r\n" +
				"Regards, the check team\r\n"},
		{"part", `assert(msg:mime(false):text_replace("Regards", "Cheers") == true)`,
			"Dear customer, please verify your account.\r\n" +
				"Click here to l=\r\r\nogin and keep your account active.\r\n" +
				"Cheers, the verify team\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			tr := play(t, s, phishQP)
			if tr.Final.Action != "accept" {
				t.Fatalf("final %+v\n%s", tr.Final, s.Logs())
			}
			body, ok := bodyOf(tr)
			if !ok {
				t.Fatalf("body not replaced: %v", tr.Modifications)
			}
			if body != tc.want {
				t.Fatalf("body %q\nwant %q", body, tc.want)
			}
		})
	}
}

// TestTextReplaceNoOpKeepsMalformed: a text_replace that changes nothing
// leaves a malformed message as it came.
func TestTextReplaceNoOpKeepsMalformed(t *testing.T) {
	for _, lua := range []string{
		`assert(msg:text_replace("absent", "x") == false)`,
		`assert(msg:text_replace("verify", "verify") == true)`,
	} {
		s := startMsg(t, milttest.Options{}, dataScript(lua))
		tr := play(t, s, phishQP)
		if tr.Final.Action != "accept" || len(tr.Modifications) != 0 {
			t.Fatalf("%s: final %+v, modifications %v\n%s", lua, tr.Final, tr.Modifications, s.Logs())
		}
	}
}

// TestTextReplaceUnknownCharsetRefused: a match in a part whose charset
// can't be converted is refused with an error naming the part.
func TestTextReplaceUnknownCharsetRefused(t *testing.T) {
	src := strings.Replace(phishQP, "charset=utf-8", "charset=x-no-such", 1)
	s := startMsg(t, milttest.Options{}, dataScript(`msg:text_replace("verify", "check")`))
	tr := play(t, s, src)
	if tr.Final.Action != "tempfail" || !strings.Contains(s.Logs(), `the message body (text/plain): charset \"x-no-such\" is unknown`) {
		t.Fatalf("final %+v\n%s", tr.Final, s.Logs())
	}
}
