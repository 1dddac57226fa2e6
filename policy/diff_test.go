package policy_test

import (
	"fmt"
	"net/textproto"
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

// TestMinimalDiff is the diff's contract on every fixture: a script that
// reads everything and writes back what it read changes nothing, and a
// script that changes one field yields exactly one modification naming
// that field's occurrence.
func TestMinimalDiff(t *testing.T) {
	sources := map[string]string{"plain": plainMsg}
	for _, f := range []string{"alternative.eml", "mixed.eml", "broken-boundary.eml", "no-final-boundary.eml"} {
		sources[f] = fixture(t, f)
	}
	for name, src := range sources {
		t.Run(name+"/read and write back", func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(`
local seen = {}
local raw = msg:raw()
for line in raw:gmatch("([^\r\n:]+):[^\r\n]*\r\n") do
  if not line:match("^[ \t]") and not line:match("^%-%-") then seen[line] = true end
end
for name in pairs(seen) do msg:header(name, msg:header(name), "replace") end
msg:body(msg:body() .. ".\r\n")
local _ = msg:text()
local m = msg:mime(false)
local p = m
while p do local _ = p:content_type() p = p.thread end
msg:text_replace("(?!)", "never")`))
			tr := play(t, s, src)
			if tr.Final.Action != "accept" || len(tr.Modifications) != 0 {
				t.Fatalf("final %+v, modifications %v\n%s", tr.Final, tr.Modifications, s.Logs())
			}
		})
		head := src[:strings.Index(src, "\r\n\r\n")+2]
		counts := map[string]int{}
		for _, line := range strings.Split(head, "\r\n") {
			if line == "" || line[0] == ' ' || line[0] == '\t' {
				continue
			}
			field, _, _ := strings.Cut(line, ":")
			key := textproto.CanonicalMIMEHeaderKey(field)
			counts[key]++
			n := counts[key]
			t.Run(fmt.Sprintf("%s/change %s[%d]", name, field, n), func(t *testing.T) {
				s := startMsg(t, milttest.Options{}, dataScript(fmt.Sprintf(`
local h = msg:header(%q)
h[%d] = "changed value"
msg:header(%q, h, "replace")`, field, n, field)))
				tr := play(t, s, src)
				want := fmt.Sprintf("change_header %s[%d]: changed value", field, n)
				if len(tr.Modifications) != 1 || tr.Modifications[0] != want {
					t.Fatalf("modifications %q, want [%s]\n%s", tr.Modifications, want, s.Logs())
				}
			})
		}
	}
}
