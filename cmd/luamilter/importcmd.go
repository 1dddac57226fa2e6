package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/luamilter/luamilter/daemon"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import-momentum",
		Usage:     "turn the scriptlet stanza of a Momentum ecelerity.conf into luamilter [[script]] entries",
		ArgsUsage: "ECELERITY.CONF",
		Description: "Reads ecelerity.conf (following include), takes the scripts of the scriptlet stanza in\n" +
			"order and resolves each source (a Momentum module path: \".\" or \"/\" separate directories,\n" +
			"no \".lua\") against the search path. Prints TOML for luamilter's config file; what could not\n" +
			"be mapped (msys.boot, missing sources, other modules' stanzas) goes to stderr.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "search-path", Value: cli.NewStringSlice(daemon.DefaultMomentumSearchPath()...),
				DefaultText: "/opt/msys/ecelerity/{etc/conf/default,etc/conf/global,libexec/scriptlets}",
				Usage:       "`DIR` searched for script sources, in order (repeatable)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the TOML to `FILE` instead of stdout"},
		},
		Action: importMomentum,
	}
}

func importMomentum(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("import-momentum: give one ecelerity.conf", 2)
	}
	file := c.Args().First()
	imp, err := daemon.ImportMomentum(file, c.StringSlice("search-path"))
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	out := imp.TOML(file)
	if path := c.String("output"); path != "" {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			return cli.Exit(err.Error(), 1)
		}
	} else {
		fmt.Fprint(c.App.Writer, out)
	}
	for _, n := range imp.Notes {
		fmt.Fprintln(c.App.ErrWriter, "not mapped: "+n)
	}
	fmt.Fprintf(c.App.ErrWriter, "%d script(s) imported, %d item(s) not mapped\n", len(imp.Scripts), len(imp.Notes))
	// The TOML is still written, so the operator can fix the list by
	// hand, but a missing source would make serve refuse to start: the
	// import did not succeed.
	var missing []string
	for _, s := range imp.Scripts {
		if !s.Found {
			missing = append(missing, fmt.Sprintf("%s: script %q: source %q (%s)", s.Where, s.Name, s.Source, s.Path))
		}
	}
	if len(missing) > 0 {
		return cli.Exit(fmt.Sprintf("import-momentum: %d script source(s) missing:\n  %s", len(missing), strings.Join(missing, "\n  ")), 1)
	}
	return nil
}
