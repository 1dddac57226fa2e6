// Command luamilter is a milter for Postfix and Sendmail that runs
// Momentum-style Lua policy scripts.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name:  "luamilter",
		Usage: "run Momentum-style Lua policy scripts as a Postfix/Sendmail milter",
		Description: "luamilter listens for milter connections from Postfix (smtpd_milters) or Sendmail\n" +
			"(INPUT_MAIL_FILTER), fires the scripts' callouts (validate_connect ... validate_dealloc)\n" +
			"at the matching SMTP stage and turns their verdicts into milter actions.",
		Commands: []*cli.Command{serveCommand(), reloadCommand(), statusCommand(), checkCommand(), testCommand(), importCommand()},
		ExitErrHandler: func(c *cli.Context, err error) {
			if err != nil {
				if err.Error() != "" {
					fmt.Fprintln(os.Stderr, "luamilter:", err)
				}
				if coder, ok := err.(cli.ExitCoder); ok {
					os.Exit(coder.ExitCode())
				}
				os.Exit(1)
			}
		},
	}
	if err := app.Run(os.Args); err != nil {
		os.Exit(1)
	}
}
