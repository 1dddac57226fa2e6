package policy_test

import (
	"strings"
	"testing"

	"github.com/luamilter/luamilter/internal/milttest"
)

const plainMsg = "From: Sender <sender@example.org>\r\n" +
	"To: rcpt@example.com, \"Other, Person\" <other+tag@Example.COM>\r\n" +
	"Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus =?ISO-8859-1?Q?M=FCnchen?=\r\n" +
	"X-Folded: first\r\n\tsecond\r\n" +
	"X-Multi: one\r\n" +
	"X-Multi: two\r\n" +
	"X-Latin1: caf\xe9 cr\xe8me\r\n" +
	"\r\n" +
	"Hello world.\r\n"

func TestHeaderRead(t *testing.T) {
	cases := []struct {
		name, lua string
		want      []string
	}{
		{"rfc2047 decoded", `report(vctx, msg:header("Subject")[1])`, []string{"Grüße aus München"}},
		{"case-insensitive name", `report(vctx, msg:header("subject")[1])`, []string{"Grüße aus München"}},
		{"missing is empty table", `report(vctx, #msg:header("X-None"), type(msg:header("X-None")))`, []string{"0", "table"}},
		{"several in order", `local h = msg:header("X-Multi") report(vctx, #h, h[1], h[2])`, []string{"2", "one", "two"}},
		{"folding unfolded", `report(vctx, msg:header("X-Folded")[1])`, []string{"first second"}},
		{"8-bit kept as bytes", `report(vctx, msg:header("X-Latin1")[1])`, []string{"caf\xe9 cr\xe8me"}},
		{"address_header all", `local a = msg:address_header("To") report(vctx, #a, a[1], a[2])`,
			[]string{"2", "rcpt@example.com", "other+tag@Example.COM"}},
		{"address_header components", `report(vctx, msg:address_header("To", "user")[2], msg:address_header("To", "detail")[2], msg:address_header("To", "domain")[2], msg:address_header("To", "localpart")[2])`,
			[]string{"other", "tag", "Example.COM", "other+tag"}},
		{"address_header missing", `report(vctx, #msg:address_header("Cc"))`, []string{"0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			tr := play(t, s, plainMsg)
			wantReported(t, s, tr, tc.want)
		})
	}
}

// TestHeaderEdits checks every edit form and the milter changes it gives.
func TestHeaderEdits(t *testing.T) {
	cases := []struct {
		name, lua string
		want      []string
	}{
		{"untouched gives nothing", ``, nil},
		{"read only gives nothing", `local _ = msg:header("Subject") local _ = msg:body() local _ = msg:mime()`, nil},
		{"rewrite same value gives nothing", `msg:header("X-Multi", {"one", "two"}, "replace")`, nil},
		{"replace one of one", `msg:header("X-Folded", "new")`, []string{"change_header X-Folded[1]: new"}},
		{"replace default mode", `msg:header("X-Multi", "only")`,
			[]string{"delete_header X-Multi[2]", "change_header X-Multi[1]: only"}},
		{"replace with table keeps positions", `msg:header("X-Multi", {"a", "b", "c"}, "replace")`,
			[]string{"change_header X-Multi[2]: b", "change_header X-Multi[1]: a", "insert_header 65536 X-Multi: c"}},
		{"append", `msg:header("X-New", "v", "append")`, []string{"insert_header 65536 X-New: v"}},
		{"append to existing", `msg:header("X-Multi", "three", "append")`, []string{"insert_header 65536 X-Multi: three"}},
		{"prepend twice keeps order", `msg:header("X-A", "1", "prepend") msg:header("X-B", "2", "prepend")`,
			[]string{"insert_header 0 X-B: 2", "insert_header 1 X-A: 1"}},
		{"prepend table", `msg:header("X-T", {"1", "2"}, "prepend")`,
			[]string{"insert_header 0 X-T: 1", "insert_header 1 X-T: 2"}},
		{"delete with empty string", `msg:header("X-Multi", "")`,
			[]string{"delete_header X-Multi[2]", "delete_header X-Multi[1]"}},
		{"delete with nil", `msg:header("X-Folded", nil)`, []string{"delete_header X-Folded[1]"}},
		{"delete missing gives nothing", `msg:header("X-None", "")`, nil},
		{"non-ascii value is rfc2047 encoded", `msg:header("X-Uni", "Grüße", "append")`,
			[]string{"insert_header 65536 X-Uni: =?utf-8?q?Gr=C3=BC=C3=9Fe?="}},
		{"edit one keeps the 8-bit neighbour", `msg:header("X-Folded", "x")`, []string{"change_header X-Folded[1]: x"}},
		{"line breaks become folds", `msg:header("X-Inj", "a\r\nBcc: evil@example.com\n\nbody", "append")`,
			[]string{"insert_header 65536 X-Inj: a\n Bcc: evil@example.com\n body"}},
		{"number value", `msg:header("X-N", 42, "append")`, []string{"insert_header 65536 X-N: 42"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			tr := play(t, s, plainMsg)
			if tr.Final.Action != "accept" {
				t.Fatalf("final %+v\n%s", tr.Final, s.Logs())
			}
			if got, want := mods(tr), strings.Join(tc.want, "\n"); got != want {
				t.Fatalf("modifications:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestHeaderRoundTrip reads back what a script wrote, within one callout
// and in a later one.
func TestHeaderRoundTrip(t *testing.T) {
	values := []string{"plain", "Grüße aus München", "日本語のテキスト", "mixed ascii and ünïcödé with a very long tail that needs more than one encoded word to stay below the line limit", "=?notreally", ""}
	for _, v := range values {
		t.Run(v, func(t *testing.T) {
			script := `
local mod = {}
function mod:validate_data(msg, ac, vctx)
  msg:header("X-Round", ` + q(v) + `, "append")
  return msys.core.VALIDATE_CONT
end
function mod:validate_data_spool(msg, ac, vctx)
  local h = msg:header("X-Round")
  report(vctx, #h, h[1] or "")
  return msys.core.VALIDATE_CONT
end
msys.registerModule("t", mod)`
			s := startMsg(t, milttest.Options{}, script)
			got := reported(t, s, play(t, s, plainMsg))
			n := "1"
			if v == "" {
				n = "0"
			}
			if got[0] != n || got[1] != v {
				t.Fatalf("read back %q, want %s %q", got, n, v)
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	cases := []struct{ name, lua, log string }{
		{"bad name", `msg:header("Bad Name", "x")`, "invalid header name"},
		{"bad mode", `msg:header("X-A", "x", "sideways")`, "mode must be replace, append or prepend"},
		{"bad value", `msg:header("X-A", true)`, "string or table expected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startMsg(t, milttest.Options{}, dataScript(tc.lua))
			tr := play(t, s, plainMsg)
			if tr.Final.Action != "tempfail" || tr.Final.Code != 451 {
				t.Fatalf("final %+v, want the on-error tempfail", tr.Final)
			}
			if !strings.Contains(s.Logs(), tc.log) {
				t.Fatalf("log lacks %q:\n%s", tc.log, s.Logs())
			}
		})
	}
}
