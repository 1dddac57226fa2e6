package policy_test

import (
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
)

// TestPredefinedContextVariables checks Momentum's predefined context
// variables against its documentation: message_rcpt_count lives in the
// connection dictionary, auth_name is the mechanism, rfc2822_date_missing
// marks a message without Date, tls_client_verified follows {verify}.
func TestPredefinedContextVariables(t *testing.T) {
	const noDate = "From: a@example.org\r\nSubject: no date\r\n\r\nHi.\r\n"
	const withDate = "From: a@example.org\r\nDate: Tue, 03 Apr 2018 12:34:53 -0500\r\n\r\nHi.\r\n"
	cases := []struct {
		name, lua, msg string
		macros         map[string]string
		want           []string
	}{
		{"message_rcpt_count is a connection variable",
			`report(vctx, vctx:get(msys.core.VCTX_CONN, "message_rcpt_count"), tostring(vctx:get(msys.core.VCTX_MESS, "message_rcpt_count")))`,
			withDate, nil, []string{"2", "nil"}},
		{"auth_name is the mechanism",
			`report(vctx, vctx:get(msys.core.VCTX_CONN, "auth_name"), vctx:get(msys.core.VCTX_CONN, "auth_user"))`,
			withDate, map[string]string{"{auth_type}": "PLAIN", "{auth_authen}": "alice"}, []string{"PLAIN", "alice"}},
		{"rfc2822_date_missing without Date",
			`report(vctx, tostring(vctx:get(msys.core.VCTX_MESS, "rfc2822_date_missing")))`, noDate, nil, []string{"true"}},
		{"rfc2822_date_missing with Date",
			`report(vctx, tostring(vctx:get(msys.core.VCTX_MESS, "rfc2822_date_missing")))`, withDate, nil, []string{"nil"}},
		{"tls_client_verified with {verify} OK",
			`report(vctx, tostring(vctx:get(msys.core.VCTX_CONN, "tls_client_verified")))`,
			withDate, map[string]string{"{tls_version}": "TLSv1.3", "{verify}": "OK"}, []string{"yes"}},
		{"tls_client_verified with {verify} NO",
			`report(vctx, tostring(vctx:get(msys.core.VCTX_CONN, "tls_client_verified")))`,
			withDate, map[string]string{"{tls_version}": "TLSv1.3", "{verify}": "NO"}, []string{"nil"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			tr, err := s.Play(milter.Transaction{ClientIP: "192.0.2.1", ClientName: "client.example.net", Helo: "client.example.net",
				From: "sender@example.org", Rcpts: []string{"a@example.com", "b@example.com"}, Message: []byte(tc.msg),
				QueueID: "Q1", Macros: tc.macros})
			if err != nil {
				t.Fatal(err)
			}
			wantReported(t, s, tr, tc.want)
		})
	}
}
