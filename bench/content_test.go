package bench

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/modules/pcre"
)

// goContentPattern is the body pattern of the plain-Go content milter
// (`gopolicy -content` in the milterload kit), in Go's syntax.
const goContentPattern = `(?i)\bv[i1!]agra\b|casino\s+bonus`

// TestContentPolicyMirrorsGo plays messages through
// examples/reference-policy.lua and content-scan.lua, loaded in that order
// as bench/run.sh serves them, and requires the verdicts the Go content
// milter gives: its body rule is checked against Go's regexp with the Go
// milter's pattern, the other rules against the reference policy.
func TestContentPolicyMirrorsGo(t *testing.T) {
	var srcs []string
	for _, name := range []string{"reference-policy.lua", "content-scan.lua"} {
		src, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(src))
	}
	srv := milttest.Start(t, milttest.Options{Regex: pcre.NewEngine(pcre.Options{})}, srcs...)
	goBody := regexp.MustCompile(goContentPattern)
	_, clean := referenceMessage(4096)
	cases := []struct {
		name, from, rcpt, subject, body string
		stage                           string // where a reject comes, "" for accept
	}{
		{name: "clean", body: string(clean)},
		{name: "viagra in the body", body: "Buy VIAGRA now\r\n", stage: "eom"},
		{name: "v1agra", body: "cheap v1agra!\r\n", stage: "eom"},
		{name: "v!agra between words", body: "a v!agra b\r\n", stage: "eom"},
		{name: "viagra inside a word", body: "viagras and xviagra\r\n"},
		{name: "casino bonus across a line", body: "Casino\r\nBONUS today\r\n", stage: "eom"},
		{name: "casino without bonus", body: "casino night\r\n"},
		{name: "viagra in the subject", subject: "cheap Viagra", body: "hello\r\n", stage: "eom"},
		{name: "bad sender", from: "x@BAD.example", body: "hello\r\n", stage: "mail"},
		{name: "bad recipient", rcpt: "Nobody@example.com", body: "hello\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.from == "" {
				tc.from = "a@example.org"
			}
			if tc.subject == "" {
				tc.subject = "an ordinary message"
			}
			rcpts := []string{"b@example.com"}
			if tc.rcpt != "" {
				rcpts = append(rcpts, tc.rcpt)
			}
			if tc.subject == "an ordinary message" && tc.from == "a@example.org" && (tc.stage == "eom") != goBody.MatchString(tc.body) {
				t.Fatalf("the Go milter's pattern matching this body is %v; the case is wrong", goBody.MatchString(tc.body))
			}
			msg := "Subject: " + tc.subject + "\r\nFrom: <" + tc.from + ">\r\n\r\n" + tc.body
			tr, err := srv.Play(milter.Transaction{ClientIP: "192.0.2.1", Helo: "client.example.net",
				From: tc.from, Rcpts: rcpts, Message: []byte(msg)})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.stage == "":
				if tr.Final.Action != "accept" || len(tr.Modifications) != 1 {
					t.Fatalf("want accept with X-Policy, got %+v %v\n%s", tr.Final, tr.Modifications, srv.Logs())
				}
			case tr.Final.Stage != tc.stage || tr.Final.Code != 550:
				t.Fatalf("want 550 at %s, got %+v\n%s", tc.stage, tr.Final, srv.Logs())
			}
			if tc.rcpt != "" {
				rejected := false
				for _, st := range tr.Stages {
					rejected = rejected || (st.Stage == "rcpt" && st.Arg == tc.rcpt && st.Code == 550)
				}
				if !rejected {
					t.Fatalf("recipient %s not rejected: %+v", tc.rcpt, tr.Stages)
				}
			}
		})
	}
}
