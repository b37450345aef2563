package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parse reads a workflow definition (YAML or JSON) named file. Files it
// refers to are read through loader, relative to file; loader may be nil
// when the definition refers to no files. Parse accepts any specVersion,
// including none: SonataFlow ignores it and real files say "0.8" or "1.0".
//
// Parse fails with a *ParseError when the text is not a workflow at all
// (bad YAML, wrong shapes). Semantic problems (unknown references and the
// like) are left to Validate.
func Parse(ctx context.Context, file string, src []byte, loader Loader) (*Workflow, error) {
	d := &decoder{ctx: ctx, file: file, loader: loader, pos: map[string]Position{}, budget: maxValueNodes}
	w := &Workflow{File: file, Source: src, pos: d.pos, loader: loader}
	root, err := parseYAML(src)
	if err != nil {
		return nil, &ParseError{Findings: []Finding{yamlFinding(file, err)}}
	}
	if root == nil {
		return nil, &ParseError{Findings: []Finding{{File: file, Message: "the file is empty; a workflow needs at least id and states"}}}
	}
	d.index(root, "")
	d.workflow(root, w)
	if len(d.errs) > 0 {
		// Warnings too: a misspelt field is often why a value is missing.
		return nil, &ParseError{Findings: append(d.errs, d.warns...)}
	}
	w.warnings = d.warns
	w.buildIndexes()
	return w, nil
}

// ParseFile loads file through loader and parses it.
func ParseFile(ctx context.Context, loader Loader, file string) (*Workflow, error) {
	src, err := loader.Load(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("read workflow %s: %w", file, err)
	}
	return Parse(ctx, file, src, loader)
}

func (w *Workflow) buildIndexes() {
	w.states = make(map[string]*State, len(w.States))
	for _, s := range w.States {
		if _, dup := w.states[s.Name]; !dup {
			w.states[s.Name] = s
		}
	}
	w.functions = indexByName(w.Functions, func(f *Function) string { return f.Name })
	w.events = indexByName(w.Events, func(e *Event) string { return e.Name })
	w.errors = indexByName(w.Errors, func(e *ErrorDef) string { return e.Name })
	w.retries = indexByName(w.Retries, func(r *Retry) string { return r.Name })
	w.auths = indexByName(w.Auth, func(a *Auth) string { return a.Name })
}

// indexByName keeps the first definition of each name; Validate reports
// the duplicates.
func indexByName[T any](list []T, name func(T) string) map[string]T {
	m := make(map[string]T, len(list))
	for _, v := range list {
		if _, dup := m[name(v)]; !dup {
			m[name(v)] = v
		}
	}
	return m
}

// maxValueNodes bounds how many nodes free-form values may expand to, so
// that YAML aliases cannot blow up memory ("billion laughs").
const maxValueNodes = 1_000_000

// parseYAML returns the document's root node, or nil for an empty file.
func parseYAML(src []byte) (*yaml.Node, error) {
	// In valid JSON a raw tab can only be whitespace between tokens, and
	// YAML refuses tabs in some of those places; spaces keep the lines.
	if bytes.IndexByte(src, '\t') >= 0 && json.Valid(src) {
		src = bytes.ReplaceAll(src, []byte{'\t'}, []byte{' '})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlFinding(file string, err error) Finding {
	msg := err.Error()
	f := Finding{File: file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		f.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	f.Message = "not valid YAML or JSON: " + msg
	return f
}

// decoder turns YAML nodes into the model. It records errors instead of
// stopping at the first one, so an author sees every problem at once.
type decoder struct {
	ctx    context.Context
	file   string // file being decoded: the workflow or an external file
	loader Loader
	pos    map[string]Position
	errs   []Finding
	warns  []Finding
	budget int
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, Finding{File: d.file, Line: line(n), Path: path, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(n *yaml.Node, path, format string, args ...any) {
	d.warns = append(d.warns, Finding{Severity: SeverityWarning, File: d.file, Line: line(n), Path: path, Message: fmt.Sprintf(format, args...)})
}

func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// index records the position of every node under n, so that findings made
// later from the model alone can still name a line.
func (d *decoder) index(n *yaml.Node, path string) {
	d.pos[path] = Position{File: d.file, Line: n.Line, Column: n.Column}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			d.index(v, p)
			// Point at the key: "transition:" is what the author looks for.
			d.pos[p] = Position{File: d.file, Line: k.Line, Column: k.Column}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.index(c, indexPath(path, i))
		}
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

// object is a mapping node being decoded. It remembers which keys were
// read so that the rest can be reported as unknown. Objects are small, so
// a linear scan beats building a map for each.
type object struct {
	d    *decoder
	n    *yaml.Node
	path string
	used []bool
}

// obj returns the mapping at n, or nil (after recording an error) when n is
// something else.
func (d *decoder) obj(n *yaml.Node, path string) *object {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected an object, found %s", kindName(n))
		return nil
	}
	o := &object{d: d, n: n, path: path, used: make([]bool, len(n.Content)/2)}
	for i := 0; i < len(o.used); i++ {
		for j := 0; j < i; j++ {
			if k := n.Content[2*i]; k.Value == n.Content[2*j].Value {
				d.errorf(k, o.sub(k.Value), "duplicate field %q (also on line %d); keep one", k.Value, n.Content[2*j].Line)
				break
			}
		}
	}
	return o
}

// find returns the index of key's pair, or -1.
func (o *object) find(key string) int {
	for i := range o.used {
		if o.n.Content[2*i].Value == key {
			return i
		}
	}
	return -1
}

// has reports whether key is present, even with a null value.
func (o *object) has(key string) bool { return o.find(key) >= 0 }

// keys returns the object's keys in file order and marks them read.
func (o *object) keys() []string {
	out := make([]string, len(o.used))
	for i := range o.used {
		out[i] = o.n.Content[2*i].Value
		o.used[i] = true
	}
	return out
}

// get returns the value of key, or nil when absent or null.
func (o *object) get(key string) *yaml.Node {
	i := o.find(key)
	if i < 0 {
		return nil
	}
	o.used[i] = true
	v := deref(o.n.Content[2*i+1])
	if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	return v
}

func (o *object) sub(key string) string { return joinPath(o.path, key) }

// done warns about keys nobody read: usually a misspelt field that would
// otherwise be silently ignored.
func (o *object) done() {
	for i, used := range o.used {
		if !used {
			k := o.n.Content[2*i]
			o.d.warnf(k, o.sub(k.Value), "unknown field %q is ignored; check its spelling", k.Value)
		}
	}
}

func (o *object) str(key string) string {
	v := o.get(key)
	if v == nil {
		return ""
	}
	if v.Kind != yaml.ScalarNode {
		o.d.errorf(v, o.sub(key), "expected a string, found %s", kindName(v))
		return ""
	}
	return v.Value
}

// boolean accepts true/false and, like SonataFlow's Jackson, the strings
// "true"/"false" (a real file says end: "true").
func (o *object) boolean(key string, def bool) bool {
	v := o.get(key)
	if v == nil {
		return def
	}
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	o.d.errorf(v, o.sub(key), "expected true or false, found %s", kindName(v))
	return def
}

// integer accepts a number or a string holding one (the spec allows both
// for maxAttempts, numCompleted and batchSize).
func (o *object) integer(key string) int {
	v := o.get(key)
	if v == nil {
		return 0
	}
	if v.Kind == yaml.ScalarNode {
		if i, err := strconv.Atoi(strings.TrimSpace(v.Value)); err == nil {
			return i
		}
	}
	o.d.errorf(v, o.sub(key), "expected a whole number, found %s", kindName(v))
	return 0
}

func (o *object) float(key string) float64 {
	v := o.get(key)
	if v == nil {
		return 0
	}
	if v.Kind == yaml.ScalarNode {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v.Value), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
	o.d.errorf(v, o.sub(key), "expected a number, found %s", kindName(v))
	return 0
}

func (o *object) strings(key string) []string {
	v := o.get(key)
	if v == nil {
		return nil
	}
	return o.d.stringList(v, o.sub(key))
}

func (d *decoder) stringList(v *yaml.Node, path string) []string {
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, path, "expected a list of strings, found %s", kindName(v))
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for i, c := range v.Content {
		c = deref(c)
		if c.Kind != yaml.ScalarNode {
			d.errorf(c, indexPath(path, i), "expected a string, found %s", kindName(c))
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

// list calls fn for each element of the list at key.
func (o *object) list(key string, fn func(n *yaml.Node, path string)) {
	v := o.get(key)
	if v == nil {
		return
	}
	o.d.each(v, o.sub(key), fn)
}

func (d *decoder) each(v *yaml.Node, path string, fn func(n *yaml.Node, path string)) {
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, path, "expected a list, found %s", kindName(v))
		return
	}
	for i, c := range v.Content {
		fn(c, indexPath(path, i))
	}
}

func (o *object) objectValue(key string) map[string]any {
	v := o.get(key)
	if v == nil {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		o.d.errorf(v, o.sub(key), "expected an object, found %s", kindName(v))
		return nil
	}
	m, _ := o.d.value(v, o.sub(key)).(map[string]any)
	return m
}

func (d *decoder) value(n *yaml.Node, path string) any {
	v, err := d.valueAt(n, 0, map[*yaml.Node]bool{})
	if err != nil {
		d.errorf(n, path, "%v", err)
		return nil
	}
	return v
}

// maxDepth bounds the nesting of free-form values.
const maxDepth = 500

func (d *decoder) valueAt(n *yaml.Node, depth int, expanding map[*yaml.Node]bool) (any, error) {
	if n.Kind == yaml.AliasNode {
		// An alias inside its own anchor would expand forever.
		if expanding[n.Alias] {
			return nil, fmt.Errorf("alias *%s refers to a value that contains it", n.Value)
		}
		expanding[n.Alias] = true
		defer delete(expanding, n.Alias)
		n = n.Alias
	}
	d.budget--
	if d.budget < 0 {
		return nil, fmt.Errorf("the value is too large (aliases expand to more than %d nodes)", maxValueNodes)
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("the value is nested more than %d levels deep", maxDepth)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := d.valueAt(n.Content[i+1], depth+1, expanding)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := d.valueAt(c, depth+1, expanding)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case yaml.ScalarNode:
		return scalarValue(n), nil
	}
	return nil, nil
}

// scalarValue maps a YAML scalar to its JSON value. Timestamps and other
// YAML-only types stay strings, as they would in JSON.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int
		if n.Decode(&i) == nil {
			return i
		}
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
	return n.Value
}

// exprOrObject reads a field that is either an expression string or an
// object (produceEvents.data, continueAs.data, eventRef.data).
func (o *object) exprOrObject(key string) any {
	v := o.get(key)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.ScalarNode {
		return v.Value
	}
	if v.Kind != yaml.MappingNode {
		o.d.errorf(v, o.sub(key), "expected an expression or an object, found %s", kindName(v))
		return nil
	}
	return o.d.value(v, o.sub(key))
}

func (d *decoder) workflow(root *yaml.Node, w *Workflow) {
	o := d.obj(root, "")
	if o == nil {
		return
	}
	w.ID = o.str("id")
	w.Key = o.str("key")
	w.Name = o.str("name")
	w.Version = o.str("version")
	w.Description = o.str("description")
	w.SpecVersion = o.str("specVersion")
	w.ExpressionLang = o.str("expressionLang")
	if w.ExpressionLang == "" {
		w.ExpressionLang = "jq"
	}
	w.Annotations = o.strings("annotations")
	w.Metadata = o.objectValue("metadata")
	w.KeepActive = o.boolean("keepActive", false)
	w.AutoRetries = o.boolean("autoRetries", false)
	if v := o.get("dataInputSchema"); v != nil {
		w.DataInputSchema = d.dataSchema(v, o.sub("dataInputSchema"))
	}
	if v := o.get("start"); v != nil {
		w.Start = d.start(v, o.sub("start"))
	}
	o.list("states", func(n *yaml.Node, p string) {
		if s := d.state(n, p); s != nil {
			w.States = append(w.States, s)
		}
	})
	if w.Start == nil {
		w.Start = &Start{Implicit: true}
		if len(w.States) > 0 {
			w.Start.StateName = w.States[0].Name
		}
	}

	d.definitions(o, "functions", func(n *yaml.Node, p string) {
		if f := d.function(n, p); f != nil {
			w.Functions = append(w.Functions, f)
		}
	})
	d.definitions(o, "events", func(n *yaml.Node, p string) {
		if e := d.event(n, p); e != nil {
			w.Events = append(w.Events, e)
		}
	})
	d.definitions(o, "errors", func(n *yaml.Node, p string) {
		if e := d.errorDef(n, p); e != nil {
			w.Errors = append(w.Errors, e)
		}
	})
	d.definitions(o, "retries", func(n *yaml.Node, p string) {
		if r := d.retry(n, p); r != nil {
			w.Retries = append(w.Retries, r)
		}
	})
	d.definitions(o, "auth", func(n *yaml.Node, p string) {
		if a := d.auth(n, p); a != nil {
			w.Auth = append(w.Auth, a)
		}
	})
	d.definitions(o, "secrets", func(n *yaml.Node, p string) {
		if n = deref(n); n.Kind == yaml.ScalarNode {
			w.Secrets = append(w.Secrets, n.Value)
		} else {
			d.errorf(n, p, "expected a secret name, found %s", kindName(n))
		}
	})
	if v := o.get("constants"); v != nil {
		path := o.sub("constants")
		file := d.file
		if v.Kind == yaml.ScalarNode {
			v, file = d.external(v, path, v.Value, "")
		}
		if v != nil {
			d.inFile(file, func() {
				if v.Kind == yaml.MappingNode {
					w.Constants, _ = d.value(v, path).(map[string]any)
				} else {
					d.errorf(v, path, "expected an object of constants or the name of a file holding one, found %s", kindName(v))
				}
			})
		}
	}
	if v := o.get("timeouts"); v != nil {
		path := o.sub("timeouts")
		file := d.file
		if v.Kind == yaml.ScalarNode {
			v, file = d.external(v, path, v.Value, "timeouts")
		}
		if v != nil {
			d.inFile(file, func() { w.Timeouts = d.timeouts(v, path) })
		}
	}
	o.list("extensions", func(n *yaml.Node, p string) { d.extension(n, p, w) })
	o.done()
}

// definitions reads a top-level list that may also be given as the name of
// a file holding it, as {"<key>": [...]} or as the bare list.
func (d *decoder) definitions(o *object, key string, fn func(n *yaml.Node, path string)) {
	v := o.get(key)
	if v == nil {
		return
	}
	path := o.sub(key)
	file := d.file
	if v.Kind == yaml.ScalarNode {
		if v, file = d.external(v, path, v.Value, key); v == nil {
			return
		}
	}
	d.inFile(file, func() { d.each(v, path, fn) })
}

// external loads a referenced file and returns its root node, indexed under
// path so that later findings name the external file, and the file's
// loader path. When wrapper is set and the document is an object with that
// key, the key's value is returned: the spec's shared files look like
// {"functions": [...]}.
func (d *decoder) external(ref *yaml.Node, path, name, wrapper string) (*yaml.Node, string) {
	if d.loader == nil {
		d.errorf(ref, path, "refers to file %q but no loader was given to read it", name)
		return nil, ""
	}
	p, src, err := loadNear(d.ctx, d.loader, d.file, name)
	if err != nil {
		d.errorf(ref, path, "cannot load %q: %v; check the path, which is relative to the workflow file", name, err)
		return nil, ""
	}
	root, err := parseYAML(src)
	if err != nil {
		f := yamlFinding(p, err)
		f.Path = path
		d.errs = append(d.errs, f)
		return nil, ""
	}
	if root == nil {
		d.errorf(ref, path, "file %q is empty", name)
		return nil, ""
	}
	if wrapper != "" && root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == wrapper {
				root = root.Content[i+1]
				break
			}
		}
	}
	sub := &decoder{file: p, pos: d.pos}
	sub.index(root, path)
	return root, p
}

// inFile runs fn with findings attributed to file (an external file).
func (d *decoder) inFile(file string, fn func()) {
	outer := d.file
	d.file = file
	defer func() { d.file = outer }()
	fn()
}

func (d *decoder) dataSchema(v *yaml.Node, path string) *DataSchema {
	s := &DataSchema{FailOnValidationErrors: true}
	var schema *yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		schema = v
	case yaml.MappingNode:
		o := d.obj(v, path)
		s.FailOnValidationErrors = o.boolean("failOnValidationErrors", true)
		schema = o.get("schema")
		if schema == nil {
			d.errorf(v, path, "missing schema; give the path of a JSON Schema file")
		}
		o.done()
	default:
		d.errorf(v, path, "expected a schema file name or {schema, failOnValidationErrors}, found %s", kindName(v))
	}
	if schema == nil {
		return s
	}
	switch schema.Kind {
	case yaml.ScalarNode:
		s.Ref = schema.Value
		s.Document, s.LoadErr = d.loadSchema(schema.Value)
	case yaml.MappingNode:
		// sdk-go accepts an inline schema object; so do we.
		s.Document, s.LoadErr = json.Marshal(d.value(schema, path))
	default:
		d.errorf(schema, path, "expected a schema file name, found %s", kindName(schema))
	}
	return s
}

// loadSchema reads a schema file. A missing or broken schema is not a parse
// error: the workflow is still readable, and Validate reports the problem.
func (d *decoder) loadSchema(name string) (json.RawMessage, error) {
	p, src, err := loadNear(d.ctx, d.loader, d.file, name)
	if err != nil {
		return nil, err
	}
	if json.Valid(src) {
		return src, nil
	}
	// Schemas may be written in YAML too.
	root, err := parseYAML(src)
	if err != nil || root == nil {
		return nil, fmt.Errorf("%s is neither JSON nor YAML", p)
	}
	sub := &decoder{file: p, pos: map[string]Position{}, budget: maxValueNodes}
	return json.Marshal(sub.value(root, ""))
}

func (d *decoder) start(v *yaml.Node, path string) *Start {
	if v.Kind == yaml.ScalarNode {
		return &Start{StateName: v.Value}
	}
	o := d.obj(v, path)
	if o == nil {
		return nil
	}
	s := &Start{StateName: o.str("stateName")}
	if sv := o.get("schedule"); sv != nil {
		s.Schedule = &Schedule{}
		if sv.Kind == yaml.ScalarNode {
			s.Schedule.Interval = sv.Value
		} else if so := d.obj(sv, o.sub("schedule")); so != nil {
			s.Schedule.Interval = so.str("interval")
			s.Schedule.Timezone = so.str("timezone")
			if cv := so.get("cron"); cv != nil {
				if cv.Kind == yaml.ScalarNode {
					s.Schedule.Cron = &Cron{Expression: cv.Value}
				} else if co := d.obj(cv, so.sub("cron")); co != nil {
					s.Schedule.Cron = &Cron{Expression: co.str("expression"), ValidUntil: co.str("validUntil")}
					co.done()
				}
			}
			so.done()
		}
	}
	o.done()
	return s
}

func (d *decoder) extension(n *yaml.Node, path string, w *Workflow) {
	o := d.obj(n, path)
	if o == nil {
		return
	}
	raw, _ := json.Marshal(d.value(o.n, path))
	ext := Extension{ID: o.str("extensionid"), Raw: raw}
	w.Extensions = append(w.Extensions, ext)
	switch ext.ID {
	case ExtensionOutputSchema:
		if v := o.get("outputSchema"); v != nil {
			w.OutputSchema = d.dataSchema(v, o.sub("outputSchema"))
		} else {
			d.errorf(n, path, "the %s extension needs outputSchema: the path of a JSON Schema file", ext.ID)
		}
		o.done()
	case ExtensionURIDefinitions:
		if v := o.get("definitions"); v != nil {
			do := d.obj(v, o.sub("definitions"))
			if do != nil {
				w.URIDefinitions = map[string]string{}
				for _, k := range do.keys() {
					w.URIDefinitions[k] = do.str(k)
				}
			}
		}
		o.done()
	case "":
		d.errorf(n, path, "extension without extensionid; add extensionid (for example %s)", ExtensionOutputSchema)
	}
	// Unknown extensions are kept raw: the specification says extensions do
	// not change control flow, so ignoring them is safe.
}

func (d *decoder) state(n *yaml.Node, path string) *State {
	o := d.obj(n, path)
	if o == nil {
		return nil
	}
	s := &State{
		ID:                  o.str("id"),
		Name:                o.str("name"),
		Type:                StateType(o.str("type")),
		CompensatedBy:       o.str("compensatedBy"),
		UsedForCompensation: o.boolean("usedForCompensation", false),
		Metadata:            o.objectValue("metadata"),
	}
	if v := o.get("stateDataFilter"); v != nil {
		if fo := d.obj(v, o.sub("stateDataFilter")); fo != nil {
			s.StateDataFilter = &StateDataFilter{Input: fo.str("input"), Output: fo.str("output")}
			fo.done()
		}
	}
	o.list("onErrors", func(n *yaml.Node, p string) {
		eo := d.obj(n, p)
		if eo == nil {
			return
		}
		s.OnErrors = append(s.OnErrors, &OnError{
			ErrorRef:   eo.str("errorRef"),
			ErrorRefs:  eo.strings("errorRefs"),
			Transition: d.transition(eo),
			End:        d.end(eo),
		})
		eo.done()
	})
	s.Transition = d.transition(o)
	s.End = d.end(o)
	if v := o.get("timeouts"); v != nil {
		s.Timeouts = d.timeouts(v, o.sub("timeouts"))
	}

	// Fields of the specific state types. Reading them all whatever the
	// type keeps the model simple; Validate checks they fit the type.
	s.Exclusive = o.boolean("exclusive", true)
	o.list("onEvents", func(n *yaml.Node, p string) {
		eo := d.obj(n, p)
		if eo == nil {
			return
		}
		ev := &OnEvent{
			EventRefs:       eo.strings("eventRefs"),
			ActionMode:      ActionMode(eo.str("actionMode")),
			EventDataFilter: d.eventDataFilter(eo),
		}
		if ev.ActionMode == "" {
			ev.ActionMode = ActionSequential
		}
		eo.list("actions", func(n *yaml.Node, p string) { ev.Actions = append(ev.Actions, d.action(n, p)) })
		s.OnEvents = append(s.OnEvents, ev)
		eo.done()
	})
	s.ActionMode = ActionMode(o.str("actionMode"))
	if s.ActionMode == "" {
		s.ActionMode = ActionSequential
	}
	o.list("actions", func(n *yaml.Node, p string) { s.Actions = append(s.Actions, d.action(n, p)) })
	o.list("dataConditions", func(n *yaml.Node, p string) {
		co := d.obj(n, p)
		if co == nil {
			return
		}
		s.DataConditions = append(s.DataConditions, &DataCondition{
			Name:       co.str("name"),
			Condition:  co.str("condition"),
			Transition: d.transition(co),
			End:        d.end(co),
			Metadata:   co.objectValue("metadata"),
		})
		co.done()
	})
	o.list("eventConditions", func(n *yaml.Node, p string) {
		co := d.obj(n, p)
		if co == nil {
			return
		}
		s.EventConditions = append(s.EventConditions, &EventCondition{
			Name:            co.str("name"),
			EventRef:        co.str("eventRef"),
			Transition:      d.transition(co),
			End:             d.end(co),
			EventDataFilter: d.eventDataFilter(co),
			Metadata:        co.objectValue("metadata"),
		})
		co.done()
	})
	if v := o.get("defaultCondition"); v != nil {
		if v.Kind == yaml.ScalarNode {
			// sdk-go accepts a bare state name, and files written for it exist.
			s.DefaultCondition = &DefaultCondition{Transition: &Transition{NextState: v.Value}}
		} else if co := d.obj(v, o.sub("defaultCondition")); co != nil {
			s.DefaultCondition = &DefaultCondition{Transition: d.transition(co), End: d.end(co)}
			co.done()
		}
	}
	s.Duration = o.str("duration")
	o.list("branches", func(n *yaml.Node, p string) {
		bo := d.obj(n, p)
		if bo == nil {
			return
		}
		b := &Branch{Name: bo.str("name")}
		bo.list("actions", func(n *yaml.Node, p string) { b.Actions = append(b.Actions, d.action(n, p)) })
		if v := bo.get("timeouts"); v != nil {
			b.Timeouts = d.timeouts(v, bo.sub("timeouts"))
		}
		s.Branches = append(s.Branches, b)
		bo.done()
	})
	s.CompletionType = CompletionType(o.str("completionType"))
	if s.CompletionType == "" {
		s.CompletionType = CompletionAllOf
	}
	if v := o.get("numCompleted"); v != nil && v.Kind == yaml.ScalarNode {
		if n, err := strconv.Atoi(strings.TrimSpace(v.Value)); err == nil {
			s.NumCompleted = n
		} else {
			s.NumCompletedExpr = v.Value
		}
	} else {
		s.NumCompleted = o.integer("numCompleted")
	}
	if v := o.get("data"); v != nil {
		if v.Kind != yaml.MappingNode {
			d.errorf(v, o.sub("data"), "expected an object to inject, found %s", kindName(v))
		} else {
			s.Data, _ = d.value(v, o.sub("data")).(map[string]any)
		}
	} else if o.has("data") && s.Type == StateInject {
		// "data:" with nothing after it: inject nothing.
		s.Data = map[string]any{}
	}
	s.InputCollection = o.str("inputCollection")
	s.OutputCollection = o.str("outputCollection")
	s.IterationParam = o.str("iterationParam")
	s.BatchSize = o.integer("batchSize")
	s.Mode = ForEachMode(o.str("mode"))
	if s.Mode == "" {
		s.Mode = ForEachParallel
	}
	if v := o.get("action"); v != nil {
		s.Action = d.action(v, o.sub("action"))
	}
	s.EventRef = o.str("eventRef")
	s.EventDataFilter = d.eventDataFilter(o)
	o.done()
	d.stateFields(o, s.Type)
	return s
}

// stateFields warns about fields of other state types: the schema forbids
// them, and they are a sign the author meant something else (actions on an
// inject state never run).
func (d *decoder) stateFields(o *object, t StateType) {
	var own []string
	switch t {
	case StateEvent:
		own = []string{"exclusive", "onEvents"}
	case StateOperation:
		own = []string{"actionMode", "actions"}
	case StateSwitch:
		own = []string{"dataConditions", "eventConditions", "defaultCondition"}
	case StateSleep:
		own = []string{"duration"}
	case StateParallel:
		own = []string{"branches", "completionType", "numCompleted"}
	case StateInject:
		own = []string{"data"}
	case StateForEach:
		own = []string{"inputCollection", "outputCollection", "iterationParam", "batchSize", "mode", "actions"}
	case StateCallback:
		own = []string{"action", "eventRef", "eventDataFilter"}
	default:
		return // Validate reports the type
	}
	for i := 0; i+1 < len(o.n.Content); i += 2 {
		k := o.n.Content[i]
		if typeSpecific(k.Value) && !slices.Contains(own, k.Value) {
			d.warnf(k, o.sub(k.Value), "%s does not apply to a %s state and is ignored", k.Value, t)
		}
	}
}

// typeSpecific reports whether a state field belongs to one type or a few.
func typeSpecific(field string) bool {
	switch field {
	case "exclusive", "onEvents", "actionMode", "actions",
		"dataConditions", "eventConditions", "defaultCondition",
		"duration", "branches", "completionType", "numCompleted",
		"data", "inputCollection", "outputCollection", "iterationParam",
		"batchSize", "mode", "action", "eventRef", "eventDataFilter":
		return true
	}
	return false
}

func (d *decoder) eventDataFilter(o *object) *EventDataFilter {
	v := o.get("eventDataFilter")
	if v == nil {
		return nil
	}
	fo := d.obj(v, o.sub("eventDataFilter"))
	if fo == nil {
		return nil
	}
	defer fo.done()
	return &EventDataFilter{UseData: fo.boolean("useData", true), Data: fo.str("data"), ToStateData: fo.str("toStateData")}
}

// transition reads o's "transition": a state name or an object.
func (d *decoder) transition(o *object) *Transition {
	v := o.get("transition")
	if v == nil {
		return nil
	}
	if v.Kind == yaml.ScalarNode {
		return &Transition{NextState: v.Value}
	}
	to := d.obj(v, o.sub("transition"))
	if to == nil {
		return nil
	}
	defer to.done()
	return &Transition{
		NextState:     to.str("nextState"),
		Compensate:    to.boolean("compensate", false),
		ProduceEvents: d.produceEvents(to),
	}
}

// end reads o's "end": true/false or an object. end: false is no end.
func (d *decoder) end(o *object) *End {
	v := o.get("end")
	if v == nil {
		return nil
	}
	if v.Kind == yaml.ScalarNode {
		if o.boolean("end", false) {
			return &End{}
		}
		return nil
	}
	eo := d.obj(v, o.sub("end"))
	if eo == nil {
		return nil
	}
	defer eo.done()
	e := &End{
		Terminate:     eo.boolean("terminate", false),
		Compensate:    eo.boolean("compensate", false),
		ProduceEvents: d.produceEvents(eo),
	}
	if cv := eo.get("continueAs"); cv != nil {
		if cv.Kind == yaml.ScalarNode {
			e.ContinueAs = &ContinueAs{WorkflowID: cv.Value}
		} else if co := d.obj(cv, eo.sub("continueAs")); co != nil {
			e.ContinueAs = &ContinueAs{WorkflowID: co.str("workflowId"), Version: co.str("version"), Data: co.exprOrObject("data")}
			if tv := co.get("workflowExecTimeout"); tv != nil {
				e.ContinueAs.WorkflowExecTimeout = d.workflowExecTimeout(tv, co.sub("workflowExecTimeout"))
			}
			co.done()
		}
	}
	return e
}

func (d *decoder) produceEvents(o *object) []*ProduceEvent {
	var out []*ProduceEvent
	o.list("produceEvents", func(n *yaml.Node, p string) {
		po := d.obj(n, p)
		if po == nil {
			return
		}
		out = append(out, &ProduceEvent{
			EventRef:          po.str("eventRef"),
			Data:              po.exprOrObject("data"),
			ContextAttributes: po.objectValue("contextAttributes"),
		})
		po.done()
	})
	return out
}

func (d *decoder) action(n *yaml.Node, path string) *Action {
	a := &Action{ActionDataFilter: &ActionDataFilter{UseResults: true}}
	o := d.obj(n, path)
	if o == nil {
		return a
	}
	a.ID = o.str("id")
	a.Name = o.str("name")
	if v := o.get("functionRef"); v != nil {
		a.FunctionRef = d.functionRef(v, o.sub("functionRef"))
	}
	if v := o.get("eventRef"); v != nil {
		if eo := d.obj(v, o.sub("eventRef")); eo != nil {
			a.EventRef = &EventRef{
				TriggerEventRef:    eo.str("triggerEventRef"),
				ResultEventRef:     eo.str("resultEventRef"),
				ResultEventTimeout: eo.str("resultEventTimeout"),
				Data:               eo.exprOrObject("data"),
				ContextAttributes:  eo.objectValue("contextAttributes"),
				Invoke:             d.invoke(eo),
			}
			eo.done()
		}
	}
	if v := o.get("subFlowRef"); v != nil {
		if v.Kind == yaml.ScalarNode {
			a.SubFlowRef = &SubFlowRef{WorkflowID: v.Value, Invoke: InvokeSync, OnParentComplete: "terminate"}
		} else if so := d.obj(v, o.sub("subFlowRef")); so != nil {
			a.SubFlowRef = &SubFlowRef{
				WorkflowID:       so.str("workflowId"),
				Version:          so.str("version"),
				Invoke:           d.invoke(so),
				OnParentComplete: so.str("onParentComplete"),
			}
			if a.SubFlowRef.OnParentComplete == "" {
				a.SubFlowRef.OnParentComplete = "terminate"
			}
			so.done()
		}
	}
	if v := o.get("sleep"); v != nil {
		if so := d.obj(v, o.sub("sleep")); so != nil {
			a.Sleep = &ActionSleep{Before: so.str("before"), After: so.str("after")}
			so.done()
		}
	}
	a.RetryRef = o.str("retryRef")
	a.NonRetryableErrors = o.strings("nonRetryableErrors")
	a.RetryableErrors = o.strings("retryableErrors")
	if v := o.get("actionDataFilter"); v != nil {
		if fo := d.obj(v, o.sub("actionDataFilter")); fo != nil {
			a.ActionDataFilter = &ActionDataFilter{
				FromStateData: fo.str("fromStateData"),
				UseResults:    fo.boolean("useResults", true),
				Results:       fo.str("results"),
				ToStateData:   fo.str("toStateData"),
			}
			fo.done()
		}
	}
	a.Condition = o.str("condition")
	o.done()
	return a
}

func (d *decoder) invoke(o *object) Invoke {
	switch v := Invoke(o.str("invoke")); v {
	case "":
		return InvokeSync
	case InvokeSync, InvokeAsync:
		return v
	default:
		d.errorf(o.get("invoke"), o.sub("invoke"), "invoke must be sync or async, found %q", string(v))
		return InvokeSync
	}
}

func (d *decoder) functionRef(v *yaml.Node, path string) *FunctionRef {
	if v.Kind == yaml.ScalarNode {
		return &FunctionRef{RefName: v.Value, Invoke: InvokeSync}
	}
	o := d.obj(v, path)
	if o == nil {
		return nil
	}
	defer o.done()
	f := &FunctionRef{RefName: o.str("refName"), SelectionSet: o.str("selectionSet"), Invoke: d.invoke(o)}
	if av := o.get("arguments"); av != nil {
		switch av.Kind {
		case yaml.ScalarNode:
			// SonataFlow: one jq expression producing the whole argument object.
			f.ArgumentsExpr = av.Value
		case yaml.MappingNode:
			f.Arguments, _ = d.value(av, o.sub("arguments")).(map[string]any)
		default:
			d.errorf(av, o.sub("arguments"), "expected an object or a jq expression, found %s", kindName(av))
		}
	}
	return f
}

func (d *decoder) function(n *yaml.Node, path string) *Function {
	o := d.obj(n, path)
	if o == nil {
		return nil
	}
	defer o.done()
	f := &Function{
		Name:      o.str("name"),
		Operation: o.str("operation"),
		Type:      FunctionType(o.str("type")),
		AuthRef:   o.str("authRef"),
		Metadata:  o.objectValue("metadata"),
	}
	if f.Type == "" {
		f.Type = FunctionREST
	}
	return f
}

func (d *decoder) event(n *yaml.Node, path string) *Event {
	o := d.obj(n, path)
	if o == nil {
		return nil
	}
	defer o.done()
	e := &Event{
		Name:     o.str("name"),
		Source:   o.str("source"),
		Type:     o.str("type"),
		Kind:     EventKind(o.str("kind")),
		DataOnly: o.boolean("dataOnly", true),
		Metadata: o.objectValue("metadata"),
	}
	if e.Kind == "" {
		e.Kind = EventConsumed
	}
	o.list("correlation", func(n *yaml.Node, p string) {
		co := d.obj(n, p)
		if co == nil {
			return
		}
		e.Correlation = append(e.Correlation, &Correlation{
			ContextAttributeName:  co.str("contextAttributeName"),
			ContextAttributeValue: co.str("contextAttributeValue"),
		})
		co.done()
	})
	return e
}

func (d *decoder) errorDef(n *yaml.Node, path string) *ErrorDef {
	o := d.obj(n, path)
	if o == nil {
		return nil
	}
	defer o.done()
	return &ErrorDef{Name: o.str("name"), Code: o.str("code"), Description: o.str("description")}
}

func (d *decoder) retry(n *yaml.Node, path string) *Retry {
	o := d.obj(n, path)
	if o == nil {
		return nil
	}
	defer o.done()
	r := &Retry{
		Name:        o.str("name"),
		Delay:       o.str("delay"),
		MaxDelay:    o.str("maxDelay"),
		Increment:   o.str("increment"),
		Multiplier:  o.float("multiplier"),
		MaxAttempts: o.integer("maxAttempts"),
	}
	if jv := o.get("jitter"); jv != nil {
		if jv.Kind != yaml.ScalarNode {
			d.errorf(jv, o.sub("jitter"), "expected a fraction such as 0.1 or a duration such as PT1S, found %s", kindName(jv))
		} else if f, err := strconv.ParseFloat(jv.Value, 64); err == nil {
			r.Jitter.Fraction = f
		} else {
			r.Jitter.Duration = jv.Value
		}
	}
	return r
}

func (d *decoder) auth(n *yaml.Node, path string) *Auth {
	o := d.obj(n, path)
	if o == nil {
		return nil
	}
	defer o.done()
	a := &Auth{Name: o.str("name"), Scheme: AuthScheme(o.str("scheme"))}
	if a.Scheme == "" {
		a.Scheme = AuthBasic
	}
	pv := o.get("properties")
	if pv == nil {
		return a
	}
	if pv.Kind == yaml.ScalarNode {
		a.PropertiesRef = pv.Value
		return a
	}
	po := d.obj(pv, o.sub("properties"))
	if po == nil {
		return a
	}
	defer po.done()
	switch a.Scheme {
	case AuthBasic:
		a.Basic = &BasicAuth{Username: po.str("username"), Password: po.str("password"), Metadata: po.objectValue("metadata")}
	case AuthBearer:
		a.Bearer = &BearerAuth{Token: po.str("token"), Metadata: po.objectValue("metadata")}
	case AuthOAuth2:
		a.OAuth2 = &OAuth2Auth{
			Authority:        po.str("authority"),
			GrantType:        po.str("grantType"),
			ClientID:         po.str("clientId"),
			ClientSecret:     po.str("clientSecret"),
			Scopes:           po.strings("scopes"),
			Username:         po.str("username"),
			Password:         po.str("password"),
			Audiences:        po.strings("audiences"),
			SubjectToken:     po.str("subjectToken"),
			RequestedSubject: po.str("requestedSubject"),
			RequestedIssuer:  po.str("requestedIssuer"),
			Metadata:         po.objectValue("metadata"),
		}
	default:
		d.errorf(o.get("scheme"), o.sub("scheme"), "unknown auth scheme %q; use basic, bearer or oauth2", string(a.Scheme))
		po.keys() // not ours to judge: the scheme is already reported
	}
	return a
}

func (d *decoder) timeouts(v *yaml.Node, path string) *Timeouts {
	o := d.obj(v, path)
	if o == nil {
		return nil
	}
	defer o.done()
	t := &Timeouts{
		ActionExecTimeout: o.str("actionExecTimeout"),
		BranchExecTimeout: o.str("branchExecTimeout"),
		EventTimeout:      o.str("eventTimeout"),
	}
	if wv := o.get("workflowExecTimeout"); wv != nil {
		t.WorkflowExecTimeout = d.workflowExecTimeout(wv, o.sub("workflowExecTimeout"))
	}
	if sv := o.get("stateExecTimeout"); sv != nil {
		if sv.Kind == yaml.ScalarNode {
			t.StateExecTimeout = &StateExecTimeout{Total: sv.Value}
		} else if so := d.obj(sv, o.sub("stateExecTimeout")); so != nil {
			t.StateExecTimeout = &StateExecTimeout{Single: so.str("single"), Total: so.str("total")}
			so.done()
		}
	}
	return t
}

func (d *decoder) workflowExecTimeout(v *yaml.Node, path string) *WorkflowExecTimeout {
	if v.Kind == yaml.ScalarNode {
		return &WorkflowExecTimeout{Duration: v.Value}
	}
	o := d.obj(v, path)
	if o == nil {
		return nil
	}
	defer o.done()
	return &WorkflowExecTimeout{Duration: o.str("duration"), Interrupt: o.boolean("interrupt", false), RunBefore: o.str("runBefore")}
}
