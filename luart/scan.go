package luart

import (
	lua "github.com/yuin/gopher-lua"
)

// What the compiled scripts can do is partly visible before they run.
// Two questions are answered from their bytecode, both erring towards
// "yes": can a callout change a global (so Clean must compare them all),
// and which names do the scripts use (so the policy can leave out what
// no script asks for, such as the message body).

// globalReach are the names through which Lua code can change globals
// other than by assigning them by name, or run code that was not
// compiled when the scripts were loaded.
var globalReach = map[string]bool{
	"_G": true, "getfenv": true, "setfenv": true, "rawset": true, "module": true,
	"require": true, "loadstring": true, "load": true, "dofile": true, "loadfile": true,
	"debug": true,
}

// mayWriteGlobals reports whether code compiled into protos could change
// the globals once loading is over: a function other than a main chunk
// assigns a global, or any code names one of globalReach (as a global or
// as any other string constant). It errs towards yes. Main chunks may
// assign globals: they run only while a State loads, before its snapshot.
func mayWriteGlobals(mains ...*lua.FunctionProto) bool {
	for _, p := range mains {
		if protoMayWriteGlobals(p, true) {
			return true
		}
	}
	return false
}

// protoMayWriteGlobals looks at p and the functions defined in it; main
// says p is a main chunk, whose own assignments run only while loading.
func protoMayWriteGlobals(p *lua.FunctionProto, main bool) bool {
	if namesGlobalReach(p) {
		return true
	}
	if !main {
		for _, inst := range p.Code {
			if opcode(inst) == lua.OP_SETGLOBAL {
				return true
			}
		}
	}
	for _, f := range p.FunctionPrototypes {
		if protoMayWriteGlobals(f, false) {
			return true
		}
	}
	return false
}

func namesGlobalReach(p *lua.FunctionProto) bool {
	for _, c := range p.Constants {
		if s, ok := c.(lua.LString); ok && globalReach[string(s)] {
			return true
		}
	}
	return false
}

// opcode decodes an instruction as gopher-lua v1.1 lays it out (the
// opcode in the top six bits); TestMayWriteGlobals fails if that changes.
func opcode(inst uint32) int { return int(inst >> 26) }

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
