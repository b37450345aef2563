package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/config"
)

func newCatalogCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Work with software catalog files",
	}
	cmd.AddCommand(newCatalogValidateCommand())
	return cmd
}

func newCatalogValidateCommand() *cobra.Command {
	var configFiles []string
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Validate catalog entity files offline, with the catalog's own rules",
		Long: `Validate checks catalog entity files (catalog-info.yaml and the like) the
way the catalog does when it ingests them and as POST /api/catalog/validate-entity
answers: envelope, policies, field formats, the kind's schema and entity
references. Directories are searched for *.yaml and *.yml files.

With --config, the kinds registered under catalog.kinds and the rules of
catalog.validation in those app-config files apply too (schema paths are
relative to the working directory, as the server reads them).

Each problem is printed as FILE:LINE: KIND:NAMESPACE/NAME: FIELD: MESSAGE.
The exit code is 1 when any entity is invalid.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, walked, err := catalogFiles(args)
			if err != nil {
				return err
			}
			pipeline, err := catalogPipeline(configFiles)
			if err != nil {
				return err
			}
			v := &catalogValidator{
				pipeline: pipeline,
				out:      cmd.OutOrStdout(),
				walked:   walked,
			}
			progress := newProgress(cmd.ErrOrStderr(), len(files))
			for i, f := range files {
				v.validateFile(cmd.Context(), f)
				progress.update(i + 1)
			}
			progress.done()
			checked := len(files) - v.skipped
			summary := fmt.Sprintf("%d %s in %d %s", v.entities, catalogNoun(v.entities, "entity", "entities"), checked, catalogNoun(checked, "file", "files"))
			if v.skipped > 0 {
				summary += fmt.Sprintf(" (%d other YAML %s skipped)", v.skipped, catalogNoun(v.skipped, "file", "files"))
			}
			if v.invalid > 0 || v.badFiles > 0 {
				var parts []string
				if v.invalid > 0 {
					parts = append(parts, fmt.Sprintf("%d invalid %s", v.invalid, catalogNoun(v.invalid, "entity", "entities")))
				}
				if v.badFiles > 0 {
					parts = append(parts, fmt.Sprintf("%d unreadable %s", v.badFiles, catalogNoun(v.badFiles, "file", "files")))
				}
				return &exitError{code: 1, err: fmt.Errorf("%s: %s", summary, strings.Join(parts, ", "))}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: all valid\n", summary)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&configFiles, "config", "c", nil, "app-config file whose catalog.kinds and catalog.validation apply (repeatable; later files win)")
	return cmd
}

// catalogPipeline builds the validation pipeline from the catalog sections
// of the given configuration files, or Backstage's defaults without any.
func catalogPipeline(configFiles []string) (*catalog.Pipeline, error) {
	var kinds []catalog.KindConfig
	var validation catalog.ValidationConfig
	if len(configFiles) > 0 {
		cfg, err := config.Load(config.Options{Files: configFiles})
		if err != nil {
			return nil, err
		}
		if err := cfg.Decode("catalog.kinds", &kinds); err != nil {
			return nil, err
		}
		if err := cfg.Decode("catalog.validation", &validation); err != nil {
			return nil, err
		}
	}
	defs, err := catalog.LoadKindConfigs(kinds, ".")
	if err != nil {
		return nil, err
	}
	reg, err := catalog.NewRegistry(defs...)
	if err != nil {
		return nil, err
	}
	validators, err := catalog.NewValidators(validation)
	if err != nil {
		return nil, err
	}
	// $text, $json and $yaml placeholders are resolved as the server does,
	// for files; URLs are not fetched (validation works offline).
	placeholders := &catalog.PlaceholderProcessor{Sources: catalog.NewSources(nil, nil, nil, false)}
	return catalog.NewDefaultPipeline(reg, validators, placeholders), nil
}

func catalogNoun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// catalogFiles expands the arguments into the files to check, in a stable
// order: files as given, directories searched for YAML files. A file named
// twice (directly and through its directory) is checked once.
func catalogFiles(args []string) (files []string, walked map[string]bool, err error) {
	walked = map[string]bool{}
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			files = append(files, arg)
			continue
		}
		var found []string
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != arg && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		slices.Sort(found)
		for _, f := range found {
			walked[f] = true
		}
		files = append(files, found...)
	}
	seen := map[string]bool{}
	files = slices.DeleteFunc(files, func(f string) bool {
		abs, err := filepath.Abs(f)
		if err != nil {
			abs = f
		}
		dup := seen[abs]
		seen[abs] = true
		return dup
	})
	return files, walked, nil
}

// holdsEntities reports whether a parsed YAML file looks like catalog data:
// some document has an apiVersion or a kind, or cannot be read at all. A
// directory also holds other YAML (OpenAPI definitions that entities pull
// in with $text, say), which is not validated as entities.
func holdsEntities(docs []catalog.Document) bool {
	for _, d := range docs {
		if d.Err != nil {
			return true
		}
		m, ok := d.Value.(map[string]any)
		if !ok {
			return true
		}
		if _, ok := m["apiVersion"]; ok {
			return true
		}
		if _, ok := m["kind"]; ok {
			return true
		}
	}
	return false
}

type catalogValidator struct {
	pipeline *catalog.Pipeline
	out      io.Writer
	// walked are the files found in directories rather than named.
	walked map[string]bool

	entities, invalid, badFiles, skipped int
}

func (v *catalogValidator) report(file string, line int, what, msg string) {
	if what == "" {
		fmt.Fprintf(v.out, "%s:%d: %s\n", file, line, msg)
		return
	}
	fmt.Fprintf(v.out, "%s:%d: %s: %s\n", file, line, what, msg)
}

func (v *catalogValidator) validateFile(ctx context.Context, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		v.badFiles++
		v.report(file, 0, "", err.Error())
		return
	}
	docs, err := catalog.ParseYAML(data)
	if err != nil {
		v.badFiles++
		line, msg := 0, err.Error()
		var se *catalog.SyntaxError
		if errors.As(err, &se) {
			line, msg = se.Line, se.Msg
		}
		v.report(file, line, "", msg)
		return
	}
	if v.walked[file] && !holdsEntities(docs) {
		v.skipped++
		return
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	location := catalog.LocationSpec{Type: "file", Target: abs}
	seen := map[string]int{}
	for i := range docs {
		doc := &docs[i]
		v.entities++
		if doc.Err != nil {
			v.invalid++
			msg := doc.Err.Error()
			line := doc.Line
			var se *catalog.SyntaxError
			if errors.As(doc.Err, &se) {
				msg = se.Msg
				if se.Line > 0 {
					line = se.Line
				}
			}
			v.report(file, line, "", msg)
			continue
		}
		e, err := doc.Entity()
		if err != nil {
			v.invalid++
			v.problems(file, doc, describeDoc(doc.Value), err)
			continue
		}
		ref := e.Ref().String()
		if first, dup := seen[ref]; dup {
			v.invalid++
			v.report(file, doc.Line, ref, fmt.Sprintf("duplicate entity: %s is already defined at line %d of this file", ref, first))
			continue
		}
		seen[ref] = doc.Line
		res := v.pipeline.Process(ctx, e, location)
		if !res.OK() {
			v.invalid++
			for _, ee := range res.Errors {
				v.problems(file, doc, ref, ee.Err)
			}
		}
	}
}

func (v *catalogValidator) problems(file string, doc *catalog.Document, what string, err error) {
	for _, p := range catalog.Problems(err) {
		v.report(file, doc.FieldLine(p.Field), what, p.String())
	}
}

// describeDoc names an entity that could not be decoded as well as its
// fields allow, so that its problems can still be told apart.
func describeDoc(doc any) string {
	m, _ := doc.(map[string]any)
	str := func(v any) string {
		if s, ok := v.(string); ok && s != "" {
			return strings.ToLower(s)
		}
		return "?"
	}
	md, _ := m["metadata"].(map[string]any)
	ns := "default"
	if s, ok := md["namespace"].(string); ok && s != "" {
		ns = strings.ToLower(s)
	}
	return str(m["kind"]) + ":" + ns + "/" + str(md["name"])
}

// progress reports how many files have been checked when there are many:
// a line rewritten in place on a terminal, a line per tenth otherwise.
type progress struct {
	w        io.Writer
	total    int
	tty      bool
	lastStep int
}

const progressMinFiles = 50

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(n int) {
	if p.total < progressMinFiles {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\rvalidated %d/%d files", n, p.total)
		return
	}
	if step := n * 10 / p.total; step > p.lastStep {
		p.lastStep = step
		fmt.Fprintf(p.w, "validated %d/%d files\n", n, p.total)
	}
}

func (p *progress) done() {
	if p.tty && p.total >= progressMinFiles {
		fmt.Fprintln(p.w)
	}
}
