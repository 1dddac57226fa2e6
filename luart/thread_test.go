package luart

import (
	"strings"
	"testing"
)

// TestThrLuaExtras checks what Momentum scripts take from thrLua beyond
// Lua 5.1 and luamilter provides: the thread library as a standard
// global, msys.lock, _TLS and _OSTLS, require("msys") and
// require("strict"), and libraries luamilter lacks naming themselves.
func TestThrLuaExtras(t *testing.T) {
	for _, tc := range []struct{ name, code, want string }{
		{"thread is a global library", `return tostring(thread == require("thread")) .. type(thread.mutex)`, "truefunction"},
		{"mutex lock and unlock", `local m = thread.mutex() m:lock() m:unlock() return tostring(m:trylock())`, "true"},
		{"error-check mutex refuses a second lock", `local m = thread.mutex() m:lock()
			local ok, err = pcall(m.lock, m) m:unlock() return tostring(ok) .. " " .. err`, "false"},
		{"recursive mutex", `local m = thread.mutex(thread.MUTEX_RECURSIVE) m:lock() m:lock() m:unlock() m:unlock() return "ok"`, "ok"},
		{"unlock of a mutex not held", `local m = thread.mutex() return select(2, pcall(m.unlock, m))`, "does not hold"},
		{"bad mutex kind", `return select(2, pcall(thread.mutex, 7))`, "MUTEX_NORMAL"},
		{"thread.create is refused by name", `return select(2, pcall(thread.create, print))`, "thread.create is not supported"},
		{"msys.lock and unlock", `msys.lock("a") local ok = pcall(msys.lock, "a") msys.unlock("a") return tostring(ok)`, "false"},
		{"_TLS is a table kept for the call", `_TLS.x = 1 return tostring(_TLS.x)`, "1"},
		{"_OSTLS is a table", `_OSTLS.y = 2 return tostring(_OSTLS.y)`, "2"},
		{"require msys", `return tostring(require("msys") == msys)`, "true"},
		{"strict refuses an undeclared global in a function", `require("strict")
			local ok, err = pcall(function() undeclared_here = 1 end) return tostring(ok) .. " " .. err`, "assign to undeclared variable 'undeclared_here'"},
		{"strict refuses reading an undeclared global", `require("strict")
			local ok, err = pcall(function() return never_declared end) return err`, "variable 'never_declared' is not declared"},
		{"strict keeps _TLS", `require("strict") return type(_TLS)`, "table"},
		{"an msys library luamilter lacks names itself", `return select(2, pcall(function() return msys.pbp.check_whitelist end))`, "luamilter does not provide the msys.pbp library"},
		{"a required one too", `local p = require("msys.policyeditor") return select(2, pcall(function() return p.x end))`, "msys.policyeditor.x: luamilter does not provide"},
		{"an msys.core function luamilter lacks names itself", `return select(2, pcall(msys.core.io_wrapper_open, "jlog:///x", 0, 0))`, "msys.core.io_wrapper_open is not provided by luamilter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, st := testState(t, `msys.registerModule("extras", {})`)
			if got := runChunk(t, st, tc.code); !strings.Contains(got, tc.want) {
				t.Errorf("%s = %q, want it to contain %q", tc.code, got, tc.want)
			}
		})
	}
}

// TestALockedMutexIsReleasedAtTheEndOfTheCommand checks that a mutex a
// script left locked does not outlive the command: the next holder of the
// Lua lock can take it.
func TestALockedMutexIsReleasedAtTheEndOfTheCommand(t *testing.T) {
	rt := testRuntime(t, `guard = thread.mutex()
msys.registerModule("left", {})`, Config{PoolSize: 1})
	for i := range 2 {
		st, err := rt.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got := runChunk(t, st, `return tostring(guard:trylock())`); got != "true" {
			t.Fatalf("command %d: trylock = %s; the mutex the last command left locked is still held", i, got)
		}
		rt.Release(st)
	}
}
