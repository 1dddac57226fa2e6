package policy_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/internal/milttest"
	"github.com/luamilter/luamilter/milter"
	"github.com/luamilter/luamilter/policy"
)

// TestRecipientSplit: with per_recipient_edits = "split", every RCPT after
// the first accepted one gets 452 4.5.3 when the scripts edit per
// recipient, except where the rule does not apply.
func TestRecipientSplit(t *testing.T) {
	const eachRcpt = `local mod = {}
function mod:validate_data_spool_each_rcpt(msg, ac, vctx)
  msg:header("X-Rcpt", msg:rcptto())
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
	const dataOnly = `local mod = {}
function mod:validate_data(msg, ac, vctx)
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
	_, doc, _ := net.ParseCIDR("192.0.2.0/24")
	_, other, _ := net.ParseCIDR("198.51.100.0/24")
	three := []string{"a@example.com", "b@example.com", "c@example.com"}
	cases := []struct {
		name   string
		script string
		split  policy.RecipientSplit
		macros map[string]string
		want   string // RCPT actions, then the final one
	}{
		{"off", eachRcpt, policy.RecipientSplit{}, nil, "continue continue continue accept"},
		{"on", eachRcpt, policy.RecipientSplit{On: true}, nil, "continue tempfail tempfail accept"},
		{"scripts that can't edit per recipient", dataOnly, policy.RecipientSplit{On: true}, nil, "continue continue continue accept"},
		{"authenticated submission", eachRcpt, policy.RecipientSplit{On: true}, map[string]string{"{auth_authen}": "alice"},
			"continue continue continue accept"},
		{"client in the networks", eachRcpt, policy.RecipientSplit{On: true, Networks: []*net.IPNet{doc}}, nil, "continue tempfail tempfail accept"},
		{"client outside the networks", eachRcpt, policy.RecipientSplit{On: true, Networks: []*net.IPNet{other}}, nil,
			"continue continue continue accept"},
		{"listener named by port", eachRcpt, policy.RecipientSplit{On: true, Listeners: []string{"25"}}, nil, "continue tempfail tempfail accept"},
		{"another listener", eachRcpt, policy.RecipientSplit{On: true, Listeners: []string{"submission"}}, nil,
			"continue continue continue accept"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "policy.lua")
			if err := os.WriteFile(path, []byte(tc.script), 0o644); err != nil {
				t.Fatal(err)
			}
			setup := func(cfg *daemon.Config) {
				if tc.split.On {
					cfg.PerRecipientEdits = "split"
				}
				for _, n := range tc.split.Networks {
					cfg.SplitNetworks = append(cfg.SplitNetworks, n.String())
				}
				cfg.SplitListeners = tc.split.Listeners
			}
			srv, err := milttest.StartWith(t, dir, milttest.Options{Direct: true}, setup, path)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := srv.Play(milter.Transaction{ClientIP: "192.0.2.1", Helo: "client.example", From: "s@example.org",
				Rcpts: three, Message: []byte("Subject: x\r\n\r\nbody\r\n"), Macros: tc.macros})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, st := range tr.Stages {
				if st.Stage == "rcpt" {
					got = append(got, st.Action)
					if st.Action == "tempfail" && (st.Code != 452 || !strings.Contains(st.Reply, "4.5.3 Too many recipients")) {
						t.Errorf("split reply %d %q", st.Code, st.Reply)
					}
				}
			}
			got = append(got, tr.Final.Action)
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("got %q, want %q\n%s", strings.Join(got, " "), tc.want, srv.Logs())
			}
			if strings.HasPrefix(tc.want, "continue tempfail") {
				if mods := strings.Join(tr.Modifications, "\n"); !strings.Contains(mods, "X-Rcpt: a@example.com") {
					t.Fatalf("the one recipient's edit is not applied: %q", mods)
				}
			}
		})
	}
}
