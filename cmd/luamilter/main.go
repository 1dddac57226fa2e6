// Command luamilter is a milter for Postfix and Sendmail that runs
// Momentum-style Lua policy scripts.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func init() {
	// --version prints what `luamilter version` does.
	cli.VersionPrinter = func(c *cli.Context) { printVersion(c.App.Writer) }
}

func main() {
	app := newApp()
	if err := app.Run(flagsFirst(app, os.Args)); err != nil {
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "luamilter",
		Usage: "run Momentum-style Lua policy scripts as a Postfix/Sendmail milter",
		Description: "luamilter listens for milter connections from Postfix (smtpd_milters) or Sendmail\n" +
			"(INPUT_MAIL_FILTER), fires the scripts' callouts (validate_connect ... validate_dealloc)\n" +
			"at the matching SMTP stage and turns their verdicts into milter actions.\n\n" +
			"Settings come from, highest rank first: command-line flags, the --config TOML file,\n" +
			"LUAMILTER_<FLAG> environment variables (e.g. LUAMILTER_SCRIPT_TIMEOUT=5s; lists are\n" +
			"comma-separated), built-in defaults. See examples/luamilter.toml for every key.",
		Version:              buildVersion(),
		EnableBashCompletion: true,
		Commands: []*cli.Command{serveCommand(), reloadCommand(), statusCommand(), controlCommand(), checkCommand(), testCommand(), replayCommand(), importCommand(),
			versionCommand(), manCommand(), completionCommand()},
		ExitErrHandler: func(c *cli.Context, err error) {
			if err == nil {
				return
			}
			if err.Error() != "" {
				fmt.Fprintln(c.App.ErrWriter, "luamilter:", err)
			}
			var coder cli.ExitCoder
			if errors.As(err, &coder) {
				os.Exit(coder.ExitCode())
			}
			os.Exit(1)
		},
	}
}
