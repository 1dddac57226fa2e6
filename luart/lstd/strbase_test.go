package lstd

import (
	"fmt"
	"testing"
)

// TestDiffStringBase covers string.sub/byte/char/len/reverse, select and
// error with integer-ish arguments of every awkward kind.
func TestDiffStringBase(t *testing.T) {
	var cases []diffCase
	idx := []string{"0", "1", "2", "-1", "-2", "3.7", "-3.7", "100", "-100", "nil", `"2"`, "(0/0)", "(1/0)", "2^31", "-(2^31)", "2^53"}
	for _, i := range idx {
		for _, j := range idx {
			cases = append(cases, ret(fmt.Sprintf(`string.sub("hello", %s, %s)`, i, j)),
				ret(fmt.Sprintf(`select("#", string.byte("hello", %s, %s))`, i, j)),
				ret(fmt.Sprintf(`string.byte("hello", %s, %s)`, i, j)))
		}
		cases = append(cases, ret(fmt.Sprintf(`string.char(%s)`, i)), ret(fmt.Sprintf(`string.sub("hello", %s)`, i)),
			ret(fmt.Sprintf(`select(%s, "a", "b")`, i)), ret(fmt.Sprintf(`string.len(%s)`, i)),
			ret(fmt.Sprintf(`string.reverse(%s)`, i)), ret(fmt.Sprintf(`string.byte("hello", %s)`, i)))
	}
	cases = append(cases, ret(`string.char(256)`), ret(`string.char(-1)`), ret(`string.char()`), ret(`string.sub()`),
		ret(`string.char(72, "105")`), ret(`string.byte("")`), ret(`("x"):rep(3)`), ret(`select("#x", 1, 2)`),
		ret(`select(-1, "a", "b")`), ret(`select(0, "a")`), ret(`select()`), ret(`tostring(nil)`),
		ret(`select("#", string.byte(string.rep("x", 4000), 1, -1))`), ret(`string.byte(string.rep("x", 8000), 1, -1)`),
		ret(`error("x", 0)`), ret(`error()`), ret(`error(nil)`), ret(`error(42, 0)`),
		ret(`string.format("%s", 1e100)`), ret(`math.floor(-0.5)`), ret(`#string.format("%099d", 7)`))
	diffRun(t, "string.sub/byte/char/len/reverse, select, error", cases, DefaultLimits(), nil)
}
