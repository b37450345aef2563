package actions

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
)

var (
	urlProp   = prop("string", "Relative path (./skeleton) or absolute http(s) URL of what to fetch: a GitHub or GitLab tree or blob URL, or for a directory elsewhere a .tar(.gz) archive.")
	tokenProp = map[string]any{"title": "Token", "type": "string", "description": "A token for the fetch request, instead of the integration's."}
)

func fetchPlain(f *fetcher) scaffolder.Action {
	return scaffolder.Action{
		ID:          "fetch:plain",
		Description: "Downloads a directory and places it in the workspace, or, optionally, in a subdirectory given by targetPath.",
		Examples: []scaffolder.ActionExample{{
			Description: "Copy the template's ./docs directory into the workspace",
			Example:     lines("steps:", "  - id: fetch-docs", "    action: fetch:plain", "    input:", "      url: ./docs", "      targetPath: docs"),
		}},
		Schema: scaffolder.ActionSchema{Input: schema("", []string{"url"}, map[string]any{
			"url":        urlProp,
			"targetPath": prop("string", "Target path within the workspace to download the contents to (default: the workspace itself)."),
			"token":      tokenProp,
		})},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				URL        string `json:"url"`
				TargetPath string `json:"targetPath"`
				Token      string `json:"token"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			target, err := targetDir("targetPath", in.TargetPath)
			if err != nil {
				return err
			}
			loc, err := f.resolve(ac, in.URL)
			if err != nil {
				return err
			}
			ac.Logger.Info("Fetching plain content from " + loc.shown)
			t, err := f.readTree(ctx, ac, loc, in.Token)
			if err != nil {
				return err
			}
			return copyTree(ctx, ac, t, target, nil)
		},
	}
}

func fetchPlainFile(f *fetcher) scaffolder.Action {
	return scaffolder.Action{
		ID:          "fetch:plain:file",
		Description: "Downloads a single file and places it in the workspace.",
		Examples: []scaffolder.ActionExample{{
			Description: "Copy a license file into the workspace",
			Example:     lines("steps:", "  - id: fetch-license", "    action: fetch:plain:file", "    input:", "      url: ./LICENSE", "      targetPath: LICENSE"),
		}},
		Schema: scaffolder.ActionSchema{Input: schema("", []string{"url", "targetPath"}, map[string]any{
			"url":        urlProp,
			"targetPath": prop("string", "Target path within the workspace to write the file to."),
			"token":      tokenProp,
		})},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				URL        string `json:"url"`
				TargetPath string `json:"targetPath"`
				Token      string `json:"token"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			target, err := fileTarget(in.TargetPath, "LICENSE")
			if err != nil {
				return err
			}
			loc, err := f.resolve(ac, in.URL)
			if err != nil {
				return err
			}
			ac.Logger.Info("Fetching plain file from " + loc.shown)
			r, mode, err := f.openFile(ctx, loc, in.Token)
			if err != nil {
				return err
			}
			defer r.Close()
			if err := writeFile(ac.Workspace, target, r, mode); err != nil {
				return fmt.Errorf("write %s: %w", target, err)
			}
			return nil
		},
	}
}

// copyTree copies a fetched tree into the workspace below target,
// verbatim; files that exist are replaced. keep, when set, decides per
// entry whether it is copied.
func copyTree(ctx context.Context, ac *scaffolder.ActionContext, t *tree, target string, keep func(entry) bool) error {
	for _, e := range t.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if keep != nil && !keep(e) {
			continue
		}
		if err := copyEntry(ac, t, e, path.Join(target, e.path)); err != nil {
			return err
		}
	}
	return nil
}

// copyEntry copies one entry verbatim to out (a workspace path).
func copyEntry(ac *scaffolder.ActionContext, t *tree, e entry, out string) error {
	switch {
	case e.dir:
		if err := ac.Workspace.MkdirAll(out, 0o755); err != nil {
			return fmt.Errorf("create directory %s: %w", out, err)
		}
	case e.link != "":
		if d := path.Dir(out); d != "." {
			if err := ac.Workspace.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("create directory %s: %w", d, err)
			}
		}
		_ = ac.Workspace.Remove(out)
		if err := ac.Workspace.Symlink(e.link, out); err != nil {
			return fmt.Errorf("create link %s: %w", out, err)
		}
	default:
		r, err := t.fsys.Open(e.path)
		if err != nil {
			return fmt.Errorf("read %s: %w", e.path, unwrapPath(err))
		}
		defer r.Close()
		if err := writeFile(ac.Workspace, out, r, e.mode); err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
	}
	return nil
}

// templateInput is what fetch:template and fetch:template:file take.
type templateInput struct {
	URL                   string         `json:"url"`
	TargetPath            string         `json:"targetPath"`
	Values                map[string]any `json:"values"`
	CopyWithoutRender     []string       `json:"copyWithoutRender"`
	CopyWithoutTemplating []string       `json:"copyWithoutTemplating"`
	CookiecutterCompat    bool           `json:"cookiecutterCompat"`
	TemplateFileExtension any            `json:"templateFileExtension"`
	Replace               bool           `json:"replace"`
	TrimBlocks            bool           `json:"trimBlocks"`
	LstripBlocks          bool           `json:"lstripBlocks"`
	Token                 string         `json:"token"`
}

func templateSchema(file bool) map[string]any {
	props := map[string]any{
		"url":                urlProp,
		"targetPath":         prop("string", "Target path within the workspace to write the rendered content to."),
		"values":             map[string]any{"title": "Template Values", "type": "object", "description": "Values the templates see as values.* (cookiecutter.* with cookiecutterCompat)."},
		"cookiecutterCompat": prop("boolean", "Use {{ }} delimiters and cookiecutter.* values, as cookiecutter templates do."),
		"replace":            prop("boolean", "Replace files that exist in the workspace (default: keep them)."),
		"trimBlocks":         prop("boolean", "Remove the first newline after a block tag."),
		"lstripBlocks":       prop("boolean", "Strip tabs and spaces before a block tag on its line."),
		"token":              tokenProp,
	}
	required := []string{"url"}
	if file {
		required = append(required, "targetPath")
	} else {
		props["copyWithoutRender"] = stringList("Globs of files and directories copied without rendering their names or contents.")
		props["copyWithoutTemplating"] = stringList("Globs of files whose contents are copied verbatim; their paths are still rendered.")
		props["templateFileExtension"] = map[string]any{
			"title":       "Template File Extension",
			"description": "Render only files with this extension (true means .njk) and strip it from their names.",
			"oneOf":       []any{map[string]any{"type": "boolean"}, map[string]any{"type": "string"}},
		}
	}
	return schema("", required, props)
}

func fetchTemplate(f *fetcher) scaffolder.Action {
	return scaffolder.Action{
		ID:          "fetch:template",
		Description: "Downloads a skeleton, renders its file names and contents with the given values, and places the result in the workspace, or, optionally, in a subdirectory given by targetPath.",
		Examples: []scaffolder.ActionExample{{
			Description: "Render the template's ./skeleton into the workspace",
			Example: lines("steps:", "  - id: fetch-base", "    action: fetch:template", "    input:", "      url: ./skeleton",
				"      values:", "        name: ${{ parameters.name }}", "      copyWithoutTemplating:", "        - .github/workflows/*"),
		}},
		Schema:         scaffolder.ActionSchema{Input: templateSchema(false)},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in templateInput
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			return f.renderTree(ctx, ac, &in)
		},
	}
}

func fetchTemplateFile(f *fetcher) scaffolder.Action {
	return scaffolder.Action{
		ID:          "fetch:template:file",
		Description: "Downloads a single file, renders its contents with the given values, and places it in the workspace.",
		Examples: []scaffolder.ActionExample{{
			Description: "Render one file",
			Example: lines("steps:", "  - id: fetch-readme", "    action: fetch:template:file", "    input:", "      url: ./README.md.njk",
				"      targetPath: README.md", "      values:", "        name: ${{ parameters.name }}"),
		}},
		Schema:         scaffolder.ActionSchema{Input: templateSchema(true)},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in templateInput
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			target, err := fileTarget(in.TargetPath, "README.md")
			if err != nil {
				return err
			}
			loc, err := f.resolve(ac, in.URL)
			if err != nil {
				return err
			}
			if exists(ac.Workspace, target) && !in.Replace {
				ac.Logger.Info(fmt.Sprintf("File %s already exists in the workspace, not replacing it (set replace: true to do so)", target))
				return nil
			}
			ac.Logger.Info("Fetching template file from " + loc.shown)
			r, mode, err := f.openFile(ctx, loc, in.Token)
			if err != nil {
				return err
			}
			defer r.Close()
			src, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			rd := newRenderer(f, &in)
			out, err := rd.render(ctx, loc.shown, string(src))
			if err != nil {
				return err
			}
			if err := writeFile(ac.Workspace, target, strings.NewReader(out), mode); err != nil {
				return fmt.Errorf("write %s: %w", target, err)
			}
			return nil
		},
	}
}

// renderer renders skeleton paths and contents with one set of values.
type renderer struct {
	env  *nunjucks.Environment
	data map[string]any
	// cookiecutter rewrites `| jsonify` (cookiecutter's name) to dump.
	cookiecutter bool
}

func newRenderer(f *fetcher, in *templateInput) *renderer {
	opts := nunjucks.Options{TrimBlocks: in.TrimBlocks, LstripBlocks: in.LstripBlocks, Filters: f.deps.TemplateFilters}
	values := in.Values
	if values == nil {
		values = map[string]any{}
	}
	data := map[string]any{"values": values}
	if in.CookiecutterCompat {
		opts.VariableStart, opts.VariableEnd = "{{", "}}"
		data = map[string]any{"cookiecutter": values}
	}
	return &renderer{env: nunjucks.New(opts), data: data, cookiecutter: in.CookiecutterCompat}
}

var jsonifyFilter = regexp.MustCompile(`\|\s*jsonify\b`)

// render renders src, naming the file and the line of the expression
// that failed.
func (r *renderer) render(ctx context.Context, file, src string) (string, error) {
	if r.cookiecutter && strings.Contains(src, "jsonify") {
		src = jsonifyFilter.ReplaceAllString(src, "| dump")
	}
	out, err := r.env.RenderString(ctx, src, r.data)
	if err != nil {
		var te *nunjucks.Error
		if errors.As(err, &te) {
			return "", fmt.Errorf("render %s, line %d: %q: %w", file, te.Line, sourceLine(src, te.Line), err)
		}
		return "", fmt.Errorf("render %s: %w", file, err)
	}
	return out, nil
}

// sourceLine returns line n (1-based) of src, shortened.
func sourceLine(src string, n int) string {
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for i := 1; sc.Scan(); i++ {
		if i == n {
			l := strings.TrimSpace(sc.Text())
			if len(l) > 200 {
				l = l[:200] + "…"
			}
			return l
		}
	}
	return ""
}

// renderTree is fetch:template: every entry's path is rendered (unless
// copied without rendering), entries whose rendered path has an empty
// segment are left out (conditional files), text contents are rendered,
// binary files and links are copied as they are.
func (f *fetcher) renderTree(ctx context.Context, ac *scaffolder.ActionContext, in *templateInput) error {
	target, err := targetDir("targetPath", in.TargetPath)
	if err != nil {
		return err
	}
	ext := ""
	switch v := in.TemplateFileExtension.(type) {
	case nil:
	case bool:
		if v {
			ext = ".njk"
		}
	case string:
		ext = v
		if ext != "" && !strings.HasPrefix(ext, ".") {
			ext = "." + ext
		}
	default:
		return fmt.Errorf("input.templateFileExtension: expected true, false or an extension such as .njk, got %v", v)
	}
	if len(in.CopyWithoutRender) > 0 && len(in.CopyWithoutTemplating) > 0 {
		return errors.New("input: copyWithoutRender and copyWithoutTemplating cannot be used together; use copyWithoutTemplating (paths rendered) or copyWithoutRender (nothing rendered)")
	}
	if ext != "" && (len(in.CopyWithoutRender) > 0 || len(in.CopyWithoutTemplating) > 0 || in.CookiecutterCompat) {
		return errors.New("input.templateFileExtension: cannot be used with copyWithoutRender, copyWithoutTemplating or cookiecutterCompat; only files with the extension are rendered anyway")
	}
	patterns, renderNames := in.CopyWithoutRender, false
	field := "copyWithoutRender"
	if len(in.CopyWithoutTemplating) > 0 {
		patterns, renderNames, field = in.CopyWithoutTemplating, true, "copyWithoutTemplating"
	}
	var verbatim []*regexp.Regexp
	for i, p := range patterns {
		re, err := globRegexp(p)
		if err != nil {
			return fmt.Errorf("input.%s[%d]: %w", field, i, err)
		}
		verbatim = append(verbatim, re)
	}
	loc, err := f.resolve(ac, in.URL)
	if err != nil {
		return err
	}
	ac.Logger.Info("Fetching template content from " + loc.shown)
	t, err := f.readTree(ctx, ac, loc, in.Token)
	if err != nil {
		return err
	}
	rd := newRenderer(f, in)
	ac.Logger.Info(fmt.Sprintf("Processing %d template files/directories with input values", len(t.entries)))
	for _, e := range t.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		renderContents := true
		outPath := e.path
		if ext != "" {
			renderContents = !e.dir && strings.HasSuffix(outPath, ext)
			if renderContents {
				outPath = strings.TrimSuffix(outPath, ext)
			}
			if outPath, err = rd.render(ctx, e.path+" (its path)", outPath); err != nil {
				return err
			}
		} else {
			renderContents = !matchAny(verbatim, e.path)
			if renderContents || renderNames {
				if outPath, err = rd.render(ctx, e.path+" (its path)", outPath); err != nil {
					return err
				}
			}
		}
		if skippedPath(outPath) {
			continue
		}
		if !localPath(outPath) {
			return fmt.Errorf("template file %s renders to the path %q, which is outside the target directory", e.path, outPath)
		}
		out := path.Join(target, outPath)
		if !e.dir && exists(ac.Workspace, out) && !in.Replace {
			ac.Logger.Info(fmt.Sprintf("File %s already exists in the workspace, not replacing it (set replace: true to do so)", out))
			continue
		}
		if !renderContents && ext == "" && !e.dir {
			ac.Logger.Info(fmt.Sprintf("Copying file %s without processing.", e.path))
		}
		if e.dir || e.link != "" || !renderContents {
			if err := copyEntry(ac, t, e, out); err != nil {
				return err
			}
			continue
		}
		if err := f.renderFile(ctx, ac, t, e, rd, out); err != nil {
			return err
		}
	}
	return nil
}

// renderFile renders one text file into the workspace; a binary file is
// copied as it is.
func (f *fetcher) renderFile(ctx context.Context, ac *scaffolder.ActionContext, t *tree, e entry, rd *renderer, out string) error {
	in, err := t.fsys.Open(e.path)
	if err != nil {
		return fmt.Errorf("read %s: %w", e.path, unwrapPath(err))
	}
	defer in.Close()
	// The head decides whether the file is text; a binary file is then
	// streamed, never held in memory whole.
	head := make([]byte, min(binarySniff, max(e.size, 0)+1))
	n, err := io.ReadFull(in, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("read %s: %w", e.path, err)
	}
	head = head[:n]
	if isBinary(head, e.size > int64(n)) {
		ac.Logger.Info(fmt.Sprintf("Copying binary file %s to template output path.", e.path))
		if err := writeFile(ac.Workspace, out, io.MultiReader(bytes.NewReader(head), in), e.mode); err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
		return nil
	}
	if e.size > maxRenderedFile {
		return fmt.Errorf("template file %s is %s, more than the %s a rendered file may have; list it in copyWithoutTemplating to copy it as it is",
			e.path, integrations.SizeString(e.size), integrations.SizeString(maxRenderedFile))
	}
	rest, err := io.ReadAll(io.LimitReader(in, maxRenderedFile))
	if err != nil {
		return fmt.Errorf("read %s: %w", e.path, err)
	}
	rendered, err := rd.render(ctx, e.path, string(head)+string(rest))
	if err != nil {
		return err
	}
	if err := writeFile(ac.Workspace, out, strings.NewReader(rendered), e.mode); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

// binarySniff is how much of a file decides whether it is binary (as git
// decides); maxRenderedFile bounds a file whose contents are rendered.
const (
	binarySniff     = 8000
	maxRenderedFile = 10 << 20
)

// skippedPath reports a rendered path with an empty segment: the way a
// template leaves out a file or directory (`${{ 'x' if values.flag }}`).
func skippedPath(p string) bool {
	return p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.HasSuffix(p, "/")
}

// localPath reports whether a rendered relative path stays below its
// directory.
func localPath(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return false
		}
	}
	return !strings.Contains(p, "\\") && !strings.ContainsRune(p, 0)
}

// isBinary says whether a file whose first bytes are head looks binary:
// a NUL byte, or bytes that are not UTF-8 (a character cut at the end of
// head, when the file goes on, is fine).
func isBinary(head []byte, truncated bool) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	if utf8.Valid(head) {
		return false
	}
	if truncated {
		for i := 1; i <= 3 && i < len(head); i++ {
			if utf8.Valid(head[:len(head)-i]) {
				return false
			}
		}
	}
	return true
}

// hasAlternatives reports whether the brace group that s starts with has a
// comma at its own level before it closes.
func hasAlternatives(s string) bool {
	level := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			level++
		case '}':
			level--
			if level == 0 {
				return false
			}
		case ',':
			if level == 1 {
				return true
			}
		}
	}
	return false
}

func matchAny(res []*regexp.Regexp, p string) bool {
	for _, re := range res {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}

// globRegexp compiles a glob as globby matches them against skeleton
// paths: * and ? within a segment, ** across segments, {a,b}
// alternatives, [...] classes; dot files match; a leading ./ is ignored.
func globRegexp(glob string) (*regexp.Regexp, error) {
	g := strings.TrimPrefix(glob, "./")
	g = strings.TrimSuffix(g, "/")
	if g == "" {
		return nil, fmt.Errorf("empty glob %q", glob)
	}
	var b strings.Builder
	b.WriteString("^")
	depth, literal := 0, 0
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch c {
		case '*':
			if i+1 < len(g) && g[i+1] == '*' {
				i++
				if i+1 < len(g) && g[i+1] == '/' {
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '{':
			if !hasAlternatives(g[i:]) {
				// Braces without a comma are literal, as in minimatch:
				// `${{ values.name }}/**` names a templated directory.
				b.WriteString(`\{`)
				literal++
				continue
			}
			depth++
			b.WriteString("(?:")
		case '}':
			if literal > 0 {
				literal--
				b.WriteString(`\}`)
				continue
			}
			if depth == 0 {
				b.WriteString(`\}`)
				continue
			}
			depth--
			b.WriteString(")")
		case ',':
			if depth > 0 {
				b.WriteString("|")
			} else {
				b.WriteString(",")
			}
		case '[':
			j := strings.IndexByte(g[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("glob %q has an unclosed [", glob)
			}
			class := g[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case '\\':
			if i+1 < len(g) {
				i++
				b.WriteString(regexp.QuoteMeta(string(g[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("glob %q has an unclosed {", glob)
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("invalid glob %q: %w", glob, err)
	}
	return re, nil
}

// fileTarget checks the targetPath of a :file action: required, inside the
// workspace, and naming a file rather than the workspace itself.
func fileTarget(targetPath, example string) (string, error) {
	if targetPath == "" {
		return "", fmt.Errorf("input.targetPath: required; name the file to write, such as %s", example)
	}
	target, err := targetDir("targetPath", targetPath)
	if err != nil {
		return "", err
	}
	if target == "." {
		return "", fmt.Errorf("input.targetPath: %q names the workspace itself; name a file", targetPath)
	}
	return target, nil
}
