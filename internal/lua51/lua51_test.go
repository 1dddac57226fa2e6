package lua51

import (
	"os/exec"
	"strings"
	"testing"
)

func TestPathRuns(t *testing.T) {
	out, err := exec.Command(Path(t), "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -v: %v\n%s", Path(t), err, out)
	}
	if !strings.HasPrefix(string(out), "Lua 5.1") {
		t.Errorf("version %q, want Lua 5.1", out)
	}
}
