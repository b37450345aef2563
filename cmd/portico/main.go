// Command portico is Portico's single binary: the developer portal server and
// the command-line tools that work on its files.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		// Commands print their own errors in one line; cobra's usage text is
		// only shown for flag mistakes.
		fmt.Fprintln(os.Stderr, "portico:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "portico",
		Short:         "Portico: developer portal, software catalog, scaffolder and workflow orchestrator in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newCatalogCommand(),
		newServeCommand(),
		newMigrateCommand(),
		newVersionCommand(),
		newWorkflowCommand(),
	)
	return root
}

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode returns the process exit code for an error returned by a command:
// the code of an *exitError, otherwise 1.
func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 1
}
