package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
	"github.com/luamilter/luamilter/luart"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "compile and load scripts and report problems as file:line: message",
		ArgsUsage: "[SCRIPT...]",
		Flags:     runtimeFlags(),
		Action:    check,
	}
}

// check validates the configuration with the rules serve applies, then
// loads the scripts together, as serve would, and lists syntax errors,
// load errors, likely-misspelled callout names and modules registered
// twice. It exits 1 on any problem.
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
	report := func(file string, line int, msg string) {
		problems++
		if line > 0 {
			fmt.Fprintf(c.App.Writer, "%s:%d: %s\n", file, line, msg)
		} else {
			fmt.Fprintf(c.App.Writer, "%s: %s\n", file, msg)
		}
	}
	// Validated with the scripts given as arguments, so that a config
	// file without [[script]] entries is not reported for lacking them.
	whole := cfg
	whole.Scripts = scriptList(scripts)
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
	off, err := offlineRuntimeFor(cfg)
	if err != nil {
		return err
	}
	defer off.mods.Close()
	rtcfg := off.rt
	rtcfg.Scripts = scripts
	for _, path := range scripts {
		if _, err := luart.Compile(path); err != nil {
			reportErr(report, path, err)
		}
	}
	if problems > 0 {
		return cli.Exit("", 1)
	}
	rt, err := luart.New(rtcfg)
	if err != nil {
		reportErr(report, scripts[0], err)
		return cli.Exit("", 1)
	}
	defer rt.Close()
	for _, f := range daemon.Lint(rt) {
		report(f.File, f.Line, f.Msg)
	}
	if problems > 0 {
		return cli.Exit("", 1)
	}
	fmt.Fprintf(c.App.Writer, "ok: %d script(s), modules %v\n", len(scripts), rt.ModuleNames())
	return nil
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
