package milter

import (
	"bytes"
	"fmt"
	"testing"

	gomilter "github.com/d--j/go-milter"
)

// TestDescribeReplacedBody checks that a body replacement sent in chunks
// is described as one entry, with its size and the start quoted, however
// the chunks fall around the quoted length.
func TestDescribeReplacedBody(t *testing.T) {
	cases := []struct {
		name   string
		chunks []int
	}{
		{"one short chunk", []int{10}},
		{"exactly the quoted length", []int{maxShownBody}},
		{"one byte over", []int{maxShownBody + 1}},
		{"chunks under the quoted length", []int{100, 200, 212}},
		{"chunk across the quoted length", []int{500, 100}},
		{"many large chunks", []int{65535, 65535, 7}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mods := []gomilter.ModifyAction{{Type: gomilter.ActionAddRcpt, Rcpt: "a@example.com"}}
			var whole []byte
			for i, n := range tc.chunks {
				b := bytes.Repeat([]byte{byte('a' + i)}, n)
				whole = append(whole, b...)
				mods = append(mods, gomilter.ModifyAction{Type: gomilter.ActionReplaceBody, Body: b})
			}
			mods = append(mods, gomilter.ModifyAction{Type: gomilter.ActionDelRcpt, Rcpt: "b@example.com"})
			want := fmt.Sprintf("replace_body %q", whole)
			if len(whole) > maxShownBody {
				want = fmt.Sprintf("replace_body %d bytes %q...", len(whole), whole[:maxShownBody])
			}
			got := describeAll(mods)
			if len(got) != 3 || got[0] != "add_rcpt a@example.com" || got[1] != want || got[2] != "del_rcpt b@example.com" {
				t.Fatalf("got %q\nwant the body as %q", got, want)
			}
		})
	}
}
