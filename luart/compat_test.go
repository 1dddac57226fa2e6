package luart

import (
	"testing"
)

// TestLua50Names checks that the Lua 5.0 names thrLua keeps enabled are
// there in a sandboxed State.
func TestLua50Names(t *testing.T) {
	_, st := testState(t, `msys.registerModule("compat", {})`)
	tests := map[string]string{
		`local n = 0; for w in string.gfind("a b c", "%a") do n = n + 1 end; return n`: "3",
		`return math.mod(7, 3)`:           "1",
		`return table.getn({1, 2, 3, 4})`: "4",
	}
	for code, want := range tests {
		if got := runChunk(t, st, code); got != want {
			t.Errorf("%s = %s, want %s", code, got, want)
		}
	}
}
