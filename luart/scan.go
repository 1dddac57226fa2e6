package luart

import (
	lua "github.com/yuin/gopher-lua"
)

// What the compiled scripts can do is partly visible before they run:
// which names they use, so the policy can leave out what no script asks
// for, such as the message body.

// codeLoaders are the names through which code not compiled with the
// scripts can run.
var codeLoaders = map[string]bool{"loadstring": true, "load": true, "dofile": true, "loadfile": true}

// stringConstants collects every string constant of the scripts (names of
// globals, fields and methods among them) and reports whether code that
// is not among them may run: a loader is named, or require outside a
// main chunk (required helpers that ran while loading are among mains).
func stringConstants(mains ...*lua.FunctionProto) (map[string]bool, bool) {
	seen := map[string]bool{}
	unseen := false
	var walk func(p *lua.FunctionProto, main bool)
	walk = func(p *lua.FunctionProto, main bool) {
		for _, c := range p.Constants {
			if s, ok := c.(lua.LString); ok {
				seen[string(s)] = true
				unseen = unseen || codeLoaders[string(s)] || (!main && s == "require")
			}
		}
		for _, f := range p.FunctionPrototypes {
			walk(f, false)
		}
	}
	for _, p := range mains {
		walk(p, true)
	}
	return seen, unseen
}
