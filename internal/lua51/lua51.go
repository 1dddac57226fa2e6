// Package lua51 locates the reference Lua 5.1 interpreter that the
// differential tests compare gopher-lua against.
package lua51

import (
	"os"
	"os/exec"
	"testing"
)

// SkipEnv names the environment variable that, set to "1", lets tests skip
// instead of fail where lua5.1 is not installed.
const SkipEnv = "LUAMILTER_NO_LUA51"

// Path returns the path of the lua5.1 binary. Where it is missing, t
// fails, or is skipped when SkipEnv is "1".
func Path(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("lua5.1")
	if err != nil {
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("lua5.1 not installed; skipping because %s=1", SkipEnv)
		}
		t.Fatalf("lua5.1 is required for differential tests: install it (apt-get install -y lua5.1) or set %s=1 to skip: %v", SkipEnv, err)
	}
	return path
}
