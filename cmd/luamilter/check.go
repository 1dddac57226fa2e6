package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/callout"
	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/luart"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "load scripts and run their init() as serve would; report every problem as file:line: message",
		ArgsUsage: "[SCRIPT...]",
		Flags:     runtimeFlags(),
		Action:    check,
	}
}

// check validates the configuration with the rules serve applies, then
// checks the scripts as serve would load and start them: syntax and load
// errors file by file, then every finding of daemon.LintFiles (callout
// names that never run, misspelled msys.core names, Momentum hooks a
// milter never calls), then every module's init() together. It reports
// every problem it finds rather than the first, and exits 1 on any
// problem; notes alone leave it at 0.
func check(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	scripts := append(cfg.ScriptPaths(), c.Args().Slice()...)
	if len(scripts) == 0 {
		return cli.Exit("check: no scripts given", 2)
	}
	problems := 0
	show := func(file string, line int, msg string) {
		if line > 0 {
			fmt.Fprintf(c.App.Writer, "%s:%d: %s\n", file, line, msg)
		} else {
			fmt.Fprintf(c.App.Writer, "%s: %s\n", file, msg)
		}
	}
	report := func(file string, line int, msg string) {
		problems++
		show(file, line, msg)
	}
	// Validated with the scripts given as arguments, so that a config
	// file without [[script]] entries is not reported for lacking them.
	whole := cfg
	whole.Scripts = append(slices.Clone(cfg.Scripts), scriptList(c.Args().Slice())...)
	if err := whole.Validate(); err != nil {
		source := configPath(c)
		if source == "" {
			source = "configuration"
		}
		for _, msg := range strings.Split(err.Error(), "\n") {
			report(source, 0, msg)
		}
		// The libraries are built from the same settings, so the
		// scripts can't be loaded as serve would load them.
		return cli.Exit("", 1)
	}
	st, err := offlineStack(whole, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	base := st.RuntimeConfig(whole)
	var compiled []string
	for _, path := range scripts {
		if _, err := luart.Compile(path); err != nil {
			reportErr(report, path, err)
			continue
		}
		compiled = append(compiled, path)
	}
	rt, loaded := loadEach(base, compiled, report)
	if rt == nil {
		// Nothing loaded; an empty runtime still knows msys.core's
		// names, so the source of every file can be read for typos.
		empty := base
		empty.Scripts = nil
		if rt, err = luart.New(empty); err != nil {
			return cli.Exit(err.Error(), 1)
		}
	}
	for _, f := range daemon.LintFiles(rt, scripts) {
		if f.Note {
			show(f.File, f.Line, "note: "+f.Msg)
		} else {
			report(f.File, f.Line, f.Msg)
		}
	}
	modules := rt.ModuleNames()
	if len(loaded) == 0 {
		rt.Close()
	} else {
		checkInit(st, rt, report)
	}
	if problems > 0 {
		return cli.Exit("", 1)
	}
	fmt.Fprintf(c.App.Writer, "ok: %d script(s), modules %v\n", len(scripts), modules)
	return nil
}

// loadEach loads the scripts one after the other, each after those
// before it that loaded, as serve loads them in order (a script may use
// what an earlier one defined), but leaving out one that fails, so a
// broken file does not hide the problems of the files after it. It
// returns the runtime of the scripts that loaded (nil if none did) and
// their paths.
func loadEach(base luart.Config, scripts []string, report func(string, int, string)) (*luart.Runtime, []string) {
	var rt *luart.Runtime
	var loaded []string
	for _, path := range scripts {
		cfg := base
		cfg.Scripts = append(slices.Clone(loaded), path)
		next, err := luart.New(cfg)
		if err != nil {
			reportErr(report, path, err)
			continue
		}
		if rt != nil {
			rt.Close()
		}
		rt, loaded = next, cfg.Scripts
	}
	return rt, loaded
}

// checkInit runs every module's init() the way serve does, through
// policy.NewEngine, and reports one that raises or returns anything but
// true: serve refuses to start with it and a reload keeps the old
// scripts. The engine is closed again, which stops the timers init
// started and runs deinit, so check leaves nothing running. rt is
// closed either way.
func checkInit(st *daemon.Stack, rt *luart.Runtime, report func(string, int, string)) {
	ctx := context.Background()
	eng, err := st.EngineWith(ctx, rt)
	if err == nil {
		eng.Close(ctx)
		return
	}
	mods := rt.LoadedModules()
	rt.Close()
	// NewEngine names the module whose init failed: "module NAME
	// (FILE): init: why".
	for _, m := range mods {
		prefix := fmt.Sprintf("module %s (%s): init: ", m.Name, m.Script)
		why, ok := strings.CutPrefix(err.Error(), prefix)
		if !ok {
			continue
		}
		if se, ok := luart.AsScriptError(err); ok && se.Line > 0 {
			file := se.File
			if file == "" {
				file = m.Script
			}
			report(file, se.Line, fmt.Sprintf("module %q: init failed: %s (serve refuses to start with this script)", m.Name, se.Msg))
			return
		}
		line := 0
		if fn := m.Callout(callout.Init); fn != nil && fn.Proto != nil {
			line = fn.Proto.LineDefined
		}
		report(m.Script, line, fmt.Sprintf("module %q: %s (serve refuses to start with this script)", m.Name, why))
		return
	}
	report(callout.Init, 0, err.Error())
}

func reportErr(report func(string, int, string), path string, err error) {
	if se, ok := luart.AsScriptError(err); ok {
		file := se.File
		if file == "" {
			file = path
		}
		report(file, se.Line, se.Msg)
		return
	}
	report(path, 0, err.Error())
}
