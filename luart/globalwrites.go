package luart

import (
	lua "github.com/yuin/gopher-lua"
)

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
