package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/internal/workflow"
)

func newWorkflowCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workflow",
		Short: "Work with Serverless Workflow 0.8 files (.sw.yaml, .sw.json)",
	}
	cmd.AddCommand(newWorkflowValidateCommand())
	cmd.AddCommand(newWorkflowRunCommand())
	return cmd
}

// progressEvery is how many files pass between progress lines; fewer files
// than this validate without any.
const progressEvery = 50

func newWorkflowValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check workflow files and report errors and warnings",
		Long: `Check workflow files and report every problem as file:line: path: message.

Directories are searched recursively for *.sw.yaml, *.sw.yml and *.sw.json.
Files a workflow refers to (schemas, OpenAPI specs, function files) are read
relative to it, and never from outside the directory given (or, for a file
argument, outside the file's directory). The exit code is 1 when any file has
an error; warnings alone do not fail.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var jobs []validateJob
			for _, arg := range args {
				found, err := findWorkflows(arg)
				if err != nil {
					return err
				}
				jobs = append(jobs, found...)
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			failed, errCount, warnCount := 0, 0, 0
			for i, job := range jobs {
				findings := validateOne(cmd, job)
				bad := false
				for _, f := range findings {
					if f.File != "" {
						f.File = filepath.Join(job.root, filepath.FromSlash(f.File))
					}
					fmt.Fprintln(out, f)
					if f.Severity == workflow.SeverityError {
						errCount++
						bad = true
					} else {
						warnCount++
					}
				}
				if bad {
					failed++
				}
				if len(jobs) >= progressEvery && (i+1)%progressEvery == 0 && i+1 < len(jobs) {
					fmt.Fprintf(errOut, "validated %d/%d workflow files\n", i+1, len(jobs))
				}
			}
			summary(errOut, len(jobs), errCount, warnCount)
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d workflow files have errors", failed, len(jobs))}
			}
			return nil
		},
	}
}

func summary(w io.Writer, files, errs, warns int) {
	fmt.Fprintf(w, "%d workflow %s: %d %s, %d %s\n", files, plural(files, "file", "files"),
		errs, plural(errs, "error", "errors"), warns, plural(warns, "warning", "warnings"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// validateJob is one workflow file: name is relative to root, and root
// bounds what the file may refer to.
type validateJob struct {
	root string
	name string
}

func validateOne(cmd *cobra.Command, job validateJob) []workflow.Finding {
	ctx := cmd.Context()
	w, err := workflow.ParseFile(ctx, workflow.DirLoader{Dir: job.root}, job.name)
	if err != nil {
		var pe *workflow.ParseError
		if errors.As(err, &pe) {
			return pe.Findings
		}
		return []workflow.Finding{{File: job.name, Message: err.Error()}}
	}
	return workflow.Validate(ctx, w)
}

func isWorkflowFile(name string) bool {
	for _, ext := range []string{".sw.yaml", ".sw.yml", ".sw.json"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// findWorkflows expands one command-line argument into workflow files.
func findWorkflows(arg string) ([]validateJob, error) {
	info, err := os.Stat(arg)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		// Named explicitly: validate it whatever its extension.
		return []validateJob{{root: filepath.Dir(arg), name: filepath.Base(arg)}}, nil
	}
	var jobs []validateJob
	err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != arg && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir // .git and the like
		}
		if d.Type().IsRegular() && isWorkflowFile(d.Name()) {
			rel, err := filepath.Rel(arg, path)
			if err != nil {
				return err
			}
			jobs = append(jobs, validateJob{root: arg, name: filepath.ToSlash(rel)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("no workflow files (*.sw.yaml, *.sw.yml, *.sw.json) under %s", arg)
	}
	return jobs, nil
}
