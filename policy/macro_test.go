package policy_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

func TestExpandMacro(t *testing.T) {
	cases := []struct {
		name, phase, in, want string
		ip                    string
	}{
		{"plain text untouched", "data", "no macros 100%", "no macros 100%", ""},
		{"percent escape", "data", "a%%b", "a%b", ""},
		{"vctx_conn", "ehlo", "%{vctx_conn:ehlo_domain}", "client.example.net", ""},
		{"vctx_conn custom", "ehlo", "[%{vctx_conn:k}]", "[v]", ""},
		{"vctx_mess", "data", "%{vctx_mess:mailfrom_domain}/%{vctx_mess:mailfrom_localpart}", "example.org/sender", ""},
		{"vctx_mess missing", "data", "<%{vctx_mess:nope}>", "<>", ""},
		{"spf s l o d", "data", "%{spfv1:s} %{spfv1:l} %{spfv1:o} %{spfv1:d}", "sender@example.org sender example.org example.org", ""},
		{"spf h", "data", "%{spfv1:h}", "client.example.net", ""},
		{"spf i v c ipv4", "data", "%{spfv1:i} %{spfv1:v} %{spfv1:c}", "192.0.2.1 in-addr 192.0.2.1", ""},
		{"spf ir", "data", "%{spfv1:ir}.%{spfv1:v}._spf.%{spfv1:d2}", "1.2.0.192.in-addr._spf.example.org", ""},
		{"spf transformers", "data", "%{spfv1:d1} %{spfv1:lr-} %{spfv1:o1r}", "org sender example", ""},
		{"spf ipv6", "data", "%{spfv1:i} %{spfv1:v} %{spfv1:c}",
			"2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1 ip6 2001:db8::1", "2001:db8::1"},
		{"bare spf letter", "data", "%{i}", "192.0.2.1", ""},
		{"upper case escapes", "data", "%{spfv1:S}", "sender@example.org", ""},
		{"spf p", "data", "%{spfv1:p}", "unknown", ""},
		{"unknown macro empty", "data", "a%{nosuch:thing}b", "ab", ""},
		{"unterminated kept", "data", "a%{vctx_conn:x", "a%{vctx_conn:x", ""},
		{"headers", "data", "%{rfc2822:headers}", "From: a@example.org\r\nSubject: macro test\r\n", ""},
		{"body", "data", "%{rfc2822:body}", "line 1\r\nline 2\r\nline 3\r\n", ""},
		{"body lines", "data", "%{rfc2822:body,2}", "line 1\r\nline 2\r\n", ""},
		{"body bytes", "data", "%{rfc2822:body,4b}", "line\r\n", ""},
		{"message lines", "data", "%{rfc2822:message,1}", "From: a@example.org\r\n", ""},
		{"message", "data", "%{rfc2822:message}", "From: a@example.org\r\nSubject: macro test\r\n\r\nline 1\r\nline 2\r\nline 3\r\n", ""},
		{"text", "data", "%{rfc2822:text}", "line 1\r\nline 2\r\nline 3\r\n", ""},
		{"text n m", "data", "%{rfc2822:text,1,1}", "line 1\r\n", ""},
		{"part n", "data", "%{rfc2822:part,1}", "From: a@example.org\r\nSubject: macro test\r\n\r\nline 1\r\nline 2\r\nline 3\r\n", ""},
		{"part out of range", "data", "<%{rfc2822:part,5}>", "<>", ""},
		{"message macro before data is empty", "mailfrom", "<%{rfc2822:body}>", "<>", ""},
	}
	msg := "From: a@example.org\r\nSubject: macro test\r\n\r\nline 1\r\nline 2\r\nline 3\r\n"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var script string
			switch tc.phase {
			case "ehlo":
				script = `local mod = {}
function mod:validate_ehlo(str, ac, vctx)
  vctx:set(msys.core.VCTX_CONN, "k", "v")
  report(vctx, msys.expandMacro(` + q(tc.in) + `))
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
			case "mailfrom":
				script = `local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  report(vctx, msys.expandMacro(` + q(tc.in) + `))
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
			default:
				script = dataScript(`report(vctx, msys.expandMacro(` + q(tc.in) + `))`)
			}
			s := startMsg(t, milttest.Options{}, script)
			ip := tc.ip
			if ip == "" {
				ip = "192.0.2.1"
			}
			tr, err := s.Play(milter.Transaction{ClientIP: ip, ClientName: "client.example.net", Helo: "client.example.net",
				From: "sender@example.org", Rcpts: []string{"rcpt@example.com"}, Message: []byte(msg)})
			if err != nil {
				t.Fatal(err)
			}
			got := reported(t, s, tr)
			if got[0] != tc.want {
				t.Fatalf("expandMacro(%q) = %q, want %q", tc.in, got[0], tc.want)
			}
			if tc.name == "unknown macro empty" && !strings.Contains(s.Logs(), "unknown macro") {
				t.Fatalf("unknown macro not logged:\n%s", s.Logs())
			}
		})
	}
}

func TestExpandMacroDate(t *testing.T) {
	s := startMsg(t, milttest.Options{}, dataScript(`report(vctx, msys.expandMacro("%{rfc822:date}"), msys.expandMacro("%{spfv1:t}"))`))
	got := reported(t, s, play(t, s, plainMsg))
	if !regexp.MustCompile(`^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$`).MatchString(got[0]) {
		t.Fatalf("date %q", got[0])
	}
	if !regexp.MustCompile(`^\d{10}$`).MatchString(got[1]) {
		t.Fatalf("epoch %q", got[1])
	}
}
