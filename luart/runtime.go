// Package luart is luamilter's Lua runtime: it compiles Momentum-dialect
// policy scripts once, runs them in one sandboxed gopher-lua state per
// generation whose threads callers take turns on, and routes every call
// into Lua through one wrapper that turns errors, timeouts, resource
// limits and Go panics into ScriptErrors.
//
// luart knows nothing about sockets or the milter protocol.
package luart

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/luamilter/luamilter/luart/dialect"
	"github.com/luamilter/luamilter/luart/lstd"
)

// maxArrayIndex caps gopher-lua's array part. The library default (2^26)
// lets `t[2^26-1] = 1` allocate about 2 GB in one step. Indexes above the
// cap still work but go to the hash part, so `#t` ignores them.
const maxArrayIndex = 1 << 20

var setArrayCap sync.Once

// Config describes a set of scripts and how to run them.
type Config struct {
	// Scripts are the policy files, loaded in this order.
	Scripts []string
	// ScriptDirs are searched by require for non-msys modules. The
	// directories of Scripts are always searched.
	ScriptDirs []string
	// Libraries add the msys.* namespaces.
	Libraries []Library
	// Timeout bounds each call into Lua (default 2s).
	Timeout time.Duration
	// Unsafe opens the full standard libraries (io, os, debug, ...).
	Unsafe bool
	// ScriptEnv names the environment variables os.getenv returns; for
	// any other name it returns nil, so scripts can't read the daemon's
	// credentials. With Unsafe, os.getenv is Lua's own.
	ScriptEnv []string
	// Limits are the per-built-in resource limits.
	Limits Limits
	// PoolSize is how many idle threads are kept for reuse (default 8).
	PoolSize int
	// MaxThreads bounds the threads Acquire hands out at once (default
	// DefaultMaxThreads()); a caller that finds them all in use waits
	// for one instead of a new one being made. The scheduler's thread
	// (Thread) is not counted.
	MaxThreads int
	// Waits, when set, counts the waits for a thread; the daemon shares
	// one between generations. Nil gives the Runtime its own.
	Waits *ThreadWaits
	// Log receives script print output and runtime warnings.
	Log *slog.Logger
	// Setting answers msys.config lookups; may be nil.
	Setting func(name string) (string, bool)
	// Brake is the process-wide memory brake; nil disables it.
	Brake *Brake
	// Callouts are the function names the embedding program calls in a
	// module table; a module registered with none of them is warned
	// about. Nil skips the warning.
	Callouts []string
}

// Limits bound the work one built-in may do for a script.
type Limits struct {
	MaxStringSize  int   // largest string a built-in may build
	MaxPatternStep int64 // pattern matcher steps per call
}

// DefaultLimits are used for zero fields of Config.Limits.
func DefaultLimits() Limits {
	return Limits{MaxStringSize: 64 << 20, MaxPatternStep: 10_000_000}
}

// Script is one compiled policy file, shared by all States.
type Script struct {
	Path  string
	proto *lua.FunctionProto
}

// Runtime owns the compiled scripts, the one Lua state they run in and
// the threads callers take turns on. A Runtime is one "generation":
// reloading builds a new Runtime.
type Runtime struct {
	cfg     Config
	scripts []*Script
	main    *State
	gil     chan struct{} // held by the State running Lua; see State
	pool    *pool
	callout map[string]bool // callouts defined by any module
	names   []string        // module names in load order

	gc        *lstd.GCThrottle // shared by all States: collectgarbage rate limit
	helpersMu sync.Mutex
	helpers   map[string]*lua.FunctionProto

	strs       map[string]bool // string constants of the scripts; see Mentions
	unseenCode bool            // code not among the scripts may run

	stateIDs atomic.Uint64 // last State.id handed out

	metaMu sync.Mutex
	metas  map[string]*lua.LTable // host object metatables, shared by all States
	metaL  *lua.LState            // builds them; used only under metaMu
}

// New compiles every script and runs them in the generation's state.
func New(cfg Config) (*Runtime, error) {
	setArrayCap.Do(func() { lua.MaxArrayIndex = maxArrayIndex })
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	def := DefaultLimits()
	if cfg.Limits.MaxStringSize <= 0 {
		cfg.Limits.MaxStringSize = def.MaxStringSize
	}
	if cfg.Limits.MaxPatternStep <= 0 {
		cfg.Limits.MaxPatternStep = def.MaxPatternStep
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 8
	}
	if cfg.MaxThreads <= 0 {
		cfg.MaxThreads = DefaultMaxThreads()
	}
	if cfg.Waits == nil {
		cfg.Waits = &ThreadWaits{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	rt := &Runtime{cfg: cfg, callout: map[string]bool{}, gc: lstd.NewGCThrottle(time.Second), gil: make(chan struct{}, 1)}
	// Script directories are added below; copy so the caller's slice is
	// never written through.
	rt.cfg.ScriptDirs = slices.Clone(cfg.ScriptDirs)
	for _, path := range cfg.Scripts {
		s, err := Compile(path)
		if err != nil {
			return nil, err
		}
		rt.scripts = append(rt.scripts, s)
		dir := filepath.Dir(path)
		if !slices.Contains(rt.cfg.ScriptDirs, dir) {
			rt.cfg.ScriptDirs = append(rt.cfg.ScriptDirs, dir)
		}
	}
	main, err := rt.newMainState()
	if err != nil {
		return nil, err
	}
	rt.main = main
	protos := rt.protos()
	rt.strs, rt.unseenCode = stringConstants(protos...)
	for _, m := range main.Modules {
		rt.names = append(rt.names, m.Name)
		m.Table.ForEach(func(k, v lua.LValue) {
			if _, ok := v.(*lua.LFunction); ok {
				rt.callout[k.String()] = true
			}
		})
	}
	rt.pool = newPool(rt, min(cfg.PoolSize, cfg.MaxThreads), cfg.MaxThreads, cfg.Waits)
	return rt, nil
}

// Compile reads, translates Momentum's dialect and compiles one script.
func Compile(path string) (*Script, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	proto, err := CompileSource(path, src)
	if err != nil {
		return nil, err
	}
	return &Script{Path: path, proto: proto}, nil
}

// CompileSource translates Momentum's dialect (!=, bitwise operators,
// \x escapes, octal literals, huge table constructors) and compiles src
// under the chunk name name. Line numbers are kept, so errors point at
// the administrator's own lines.
func CompileSource(name string, src []byte) (*lua.FunctionProto, error) {
	if len(src) >= 4 && bytes.HasPrefix(src, []byte("\x1bLua")) {
		return nil, &ScriptError{Kind: KindSyntax, Module: name, File: name, Msg: "precompiled chunks are not accepted"}
	}
	out, err := dialect.Translate(name, src)
	if err != nil {
		file, line, msg := splitPosition(err.Error())
		if file == "" {
			file = name
		}
		return nil, &ScriptError{Kind: KindSyntax, Module: name, File: file, Line: line, Msg: msg}
	}
	src = out
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, syntaxError(name, src, err)
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, syntaxError(name, src, err)
	}
	return proto, nil
}

// gopherSyntax matches gopher-lua's parse errors:
// "name line:12(column:3) near 'x':   syntax error".
var gopherSyntax = regexp.MustCompile(`line:(\d+)\(column:\d+\)\s*(.*)$`)

func syntaxError(name string, src []byte, err error) error {
	msg := strings.TrimSpace(err.Error())
	se := &ScriptError{Kind: KindSyntax, Module: name, File: name, Msg: msg}
	if f, l, rest := splitPosition(msg); f != "" && l > 0 {
		se.File, se.Line, se.Msg = f, l, rest
		return se
	}
	if m := gopherSyntax.FindStringSubmatch(msg); m != nil {
		se.Line, _ = strconv.Atoi(m[1])
		se.Msg = collapseSpaces(m[2])
		return se
	}
	if i := strings.Index(msg, "at EOF:"); i >= 0 {
		se.Line = bytes.Count(src, []byte("\n")) + 1
		if len(src) > 0 && src[len(src)-1] == '\n' {
			se.Line--
		}
		se.Msg = "unexpected end of file: " + collapseSpaces(msg[i+len("at EOF:"):])
	}
	return se
}

func collapseSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }

// Defines reports whether any loaded module defines the named callout.
func (rt *Runtime) Defines(callout string) bool { return rt.callout[callout] }

// Meta returns the host object metatable registered under name, built
// once per Runtime with build and shared by every State. Sharing is what
// lets a session's vctx or msg userdata work in whichever State runs its
// next callout, and it keeps these tables out of each State's footprint.
// It is safe because the tables hold Go functions only, which read no
// State's globals (getfenv of a Go function answers the caller's
// globals), and nothing writes them after build: Meta sets __metatable
// so that scripts can't reach them.
func (rt *Runtime) Meta(name string, build func(L *lua.LState) *lua.LTable) *lua.LTable {
	rt.metaMu.Lock()
	defer rt.metaMu.Unlock()
	if mt, ok := rt.metas[name]; ok {
		return mt
	}
	if rt.metaL == nil {
		rt.metas = map[string]*lua.LTable{}
		rt.metaL = lua.NewState(lua.Options{SkipOpenLibs: true})
	}
	mt := build(rt.metaL)
	if mt.RawGetString("__metatable") == lua.LNil {
		mt.RawSetString("__metatable", lua.LString(name))
	}
	rt.metas[name] = mt
	return mt
}

// Mentions reports whether the scripts may use any of names, as a global,
// field or method name or any other string constant. It answers true when
// it can't tell: with unsafe Lua, or when code the scripts load at run
// time (loadstring, require in a callout, ...) was not there to look at.
// A method called through a name built at run time is not seen.
func (rt *Runtime) Mentions(names ...string) bool {
	if rt.cfg.Unsafe || rt.unseenCode {
		return true
	}
	for _, n := range names {
		if rt.strs[n] {
			return true
		}
	}
	return false
}

// ModuleCount returns how many modules the scripts register.
func (rt *Runtime) ModuleCount() int { return len(rt.names) }

// ModuleNames returns the registered module names in load order.
func (rt *Runtime) ModuleNames() []string { return append([]string(nil), rt.names...) }

// Timeout is the per-call deadline.
func (rt *Runtime) Timeout() time.Duration { return rt.cfg.Timeout }

// Log returns the runtime's logger.
func (rt *Runtime) Log() *slog.Logger { return rt.cfg.Log }

// Acquire takes a thread and the generation's lock: the caller may run
// Lua and touch the scripts' tables until Release. It waits for the lock
// until ctx ends.
func (rt *Runtime) Acquire(ctx context.Context) (*State, error) {
	return rt.AcquireAgain(ctx, 0)
}

// AcquireAgain is Acquire for a caller that held the thread numbered last
// (State.ID) before: it gets that one back if it is idle, with the
// _OSTLS table it left there.
//
// The lock comes first and the thread second: sessions waiting for the
// lock then hold no thread, so threads in use are the one running and
// those waiting in a library call, not every session queued behind them.
// Those are bounded by Config.MaxThreads: when all are taken, the caller
// lets go of the lock and waits for a thread, then for the lock again.
// Waiting with the lock would keep the threads' holders, back from their
// library calls, from ever running to give theirs up.
func (rt *Runtime) AcquireAgain(ctx context.Context, last uint64) (*State, error) {
	if err := rt.lock(ctx); err != nil {
		return nil, err
	}
	if !rt.pool.trySlot() {
		<-rt.gil
		if err := rt.pool.waitSlot(ctx); err != nil {
			return nil, err
		}
		if err := rt.lock(ctx); err != nil {
			rt.pool.freeSlot()
			return nil, err
		}
	}
	st := rt.pool.get(last)
	st.slot = true
	st.hold()
	return st, nil
}

// Thread takes a thread without the lock, for a caller that holds one
// for long and runs Lua on it now and then (Enter, Leave): the
// generation's scheduler. It is not counted toward Config.MaxThreads.
func (rt *Runtime) Thread() *State { return rt.pool.get(0) }

// Release gives back a thread taken with Acquire, or with Thread once
// Left: the lock first, if held. A broken thread is dropped.
func (rt *Runtime) Release(st *State) {
	if st == nil {
		return
	}
	st.Leave()
	rt.pool.release(st)
}

// Enter takes the generation's lock, waiting until ctx ends.
func (st *State) Enter(ctx context.Context) error {
	if st.entered {
		return nil
	}
	if err := st.rt.lock(ctx); err != nil {
		return err
	}
	st.hold()
	return nil
}

// hold marks st as holding the generation's lock, just taken, and makes
// it the running thread: gopher-lua keeps the running coroutine in the
// shared state, and the thread that ran last may have left one of its
// own there.
func (st *State) hold() {
	st.entered = true
	st.L.G.CurrentThread = st.L
}

// lock takes the generation's lock, waiting until ctx ends.
func (rt *Runtime) lock(ctx context.Context) error {
	select {
	case rt.gil <- struct{}{}:
		return nil
	default:
	}
	select {
	case rt.gil <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the Lua state: %w", context.Cause(ctx))
	}
}

// Leave gives the generation's lock back, after unlocking what the
// scripts left locked (a callout that failed between lock and unlock
// must not stall every other session) and clearing the thread's stack.
func (st *State) Leave() {
	if !st.entered {
		return
	}
	st.unlockHeld()
	st.clear()
	st.entered = false
	<-st.rt.gil
}

// Blocking runs f, which waits for something outside Lua (a network
// reply, a timer, another session's mutex), without the generation's
// lock, so other sessions run Lua meanwhile. f must not touch Lua values.
// Libraries call it from the Go functions they give scripts.
func Blocking(L *lua.LState, f func()) {
	st := stateFrom(L)
	if st == nil || !st.entered {
		f()
		return
	}
	st.entered = false
	<-st.rt.gil
	defer func() {
		st.rt.gil <- struct{}{}
		st.entered = true
		L.G.CurrentThread = L
	}()
	f()
}

// stateFrom is the State a call into Lua on L runs for, or nil outside
// one.
func stateFrom(L *lua.LState) *State {
	if ctx := L.Context(); ctx != nil {
		if st, ok := ctx.Value(stateKey{}).(*State); ok {
			return st
		}
	}
	return nil
}

// PoolStats reports the thread pool's use.
func (rt *Runtime) PoolStats() PoolStats { return rt.pool.stats() }

// Close closes the generation's state. No thread may be in use.
func (rt *Runtime) Close() {
	rt.pool.close()
	rt.main.Close()
}

// helper compiles (once per Runtime) a script loaded with require.
func (rt *Runtime) helper(path string) (*lua.FunctionProto, error) {
	rt.helpersMu.Lock()
	defer rt.helpersMu.Unlock()
	if p, ok := rt.helpers[path]; ok {
		return p, nil
	}
	s, err := Compile(path)
	if err != nil {
		return nil, err
	}
	if rt.helpers == nil {
		rt.helpers = map[string]*lua.FunctionProto{}
	}
	rt.helpers[path] = s.proto
	return s.proto, nil
}

// HelperPaths returns the files the scripts loaded with require, sorted.
func (rt *Runtime) HelperPaths() []string {
	rt.helpersMu.Lock()
	defer rt.helpersMu.Unlock()
	return slices.Sorted(maps.Keys(rt.helpers))
}

// protos returns the main chunks of the scripts and of the helpers they
// required while the first State loaded.
func (rt *Runtime) protos() []*lua.FunctionProto {
	var out []*lua.FunctionProto
	for _, s := range rt.scripts {
		out = append(out, s.proto)
	}
	rt.helpersMu.Lock()
	defer rt.helpersMu.Unlock()
	for _, p := range rt.helpers {
		out = append(out, p)
	}
	return out
}

// LoadedModules returns the modules as the scripts registered them, for
// inspection (luamilter check). The tables must not be called.
func (rt *Runtime) LoadedModules() []*Module {
	return append([]*Module(nil), rt.main.Modules...)
}
