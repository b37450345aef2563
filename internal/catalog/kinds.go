package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schemas/*.json schemas/kinds/*.json
var schemaFS embed.FS

// API versions of the built-in kinds.
const (
	APIVersionV1alpha1          = "backstage.io/v1alpha1"
	APIVersionV1beta1           = "backstage.io/v1beta1"
	APIVersionScaffolderV1beta3 = "scaffolder.backstage.io/v1beta3"
)

// KindConfig registers a kind, or a new apiVersion of an existing kind, from
// configuration (`catalog.kinds`). Schema is the path of a JSON Schema file
// (JSON or YAML) that entities of this apiVersion and kind must satisfy; it
// is evaluated against the whole entity and may refer to the base schemas as
// Backstage's do ("$ref": "Entity", "EntityMeta", "common#/definitions/…").
type KindConfig struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Schema     string         `yaml:"schema"`
	Relations  []RelationRule `yaml:"relations"`
}

// RelationRule declares that a spec field holds references (one string or a
// list of strings) from which relations are emitted in both directions:
// entity -[Type]-> target and target -[Reverse]-> entity.
type RelationRule struct {
	// Field is the dotted path of the field, starting with "spec.".
	Field string `yaml:"field"`
	// Type and Reverse are the relation types of the two directions.
	Type    string `yaml:"type"`
	Reverse string `yaml:"reverse"`
	// TargetKind is the kind of references that name none; when empty, the
	// references must name their kind.
	TargetKind string `yaml:"targetKind"`
	// TargetNamespace is the namespace of references that name none; when
	// empty it is the entity's own namespace.
	TargetNamespace string `yaml:"targetNamespace"`
}

// KindDefinition describes one kind under one or more apiVersions: the
// schema its entities must satisfy and the relations its fields declare.
type KindDefinition struct {
	Kind        string
	APIVersions []string
	// Schema is the decoded JSON Schema document.
	Schema any
	// SchemaURL locates the schema for messages and relative $refs; a
	// file path or URL. Optional.
	SchemaURL string
	Relations []RelationRule
}

// Registry knows the kinds the catalog accepts. Schemas are compiled once,
// when the registry is built; afterwards it is read-only and safe for
// concurrent use.
type Registry struct {
	kinds map[kindKey]*registeredKind
	// byKind lists the apiVersions of each kind, for messages.
	byKind map[string][]string
	// builtinRules are the relation rules of Backstage's built-in kinds,
	// which apply to every apiVersion of those kinds, as in Backstage.
	builtinRules map[string][]RelationRule
}

type kindKey struct{ apiVersion, kind string }

type registeredKind struct {
	def    KindDefinition
	schema *jsonschema.Schema
	// specOnly marks our built-in schemas, which look at spec alone, so
	// validation can skip building the rest of the document.
	specOnly bool
}

// BuiltinKinds returns the definitions of Backstage's built-in kinds
// (Component, API, Resource, System, Domain, Group, User and Location under
// backstage.io/v1alpha1 and v1beta1, and Template under
// scaffolder.backstage.io/v1beta3) with the relations their fields declare.
func BuiltinKinds() []KindDefinition {
	owner := RelationRule{Field: "spec.owner", Type: RelationOwnedBy, Reverse: RelationOwnerOf, TargetKind: "Group"}
	system := RelationRule{Field: "spec.system", Type: RelationPartOf, Reverse: RelationHasPart, TargetKind: "System"}
	dependsOn := RelationRule{Field: "spec.dependsOn", Type: RelationDependsOn, Reverse: RelationDependencyOf}
	dependencyOf := RelationRule{Field: "spec.dependencyOf", Type: RelationDependencyOf, Reverse: RelationDependsOn}
	backstage := []string{APIVersionV1alpha1, APIVersionV1beta1}
	defs := []KindDefinition{
		{Kind: "Component", APIVersions: backstage, Relations: []RelationRule{
			owner,
			{Field: "spec.subcomponentOf", Type: RelationPartOf, Reverse: RelationHasPart, TargetKind: "Component"},
			{Field: "spec.providesApis", Type: RelationProvidesAPI, Reverse: RelationAPIProvidedBy, TargetKind: "API"},
			{Field: "spec.consumesApis", Type: RelationConsumesAPI, Reverse: RelationAPIConsumedBy, TargetKind: "API"},
			dependsOn, dependencyOf, system,
		}},
		{Kind: "API", APIVersions: backstage, Relations: []RelationRule{owner, system}},
		{Kind: "Resource", APIVersions: backstage, Relations: []RelationRule{owner, dependsOn, dependencyOf, system}},
		{Kind: "System", APIVersions: backstage, Relations: []RelationRule{
			owner,
			{Field: "spec.domain", Type: RelationPartOf, Reverse: RelationHasPart, TargetKind: "Domain"},
		}},
		{Kind: "Domain", APIVersions: backstage, Relations: []RelationRule{
			owner,
			{Field: "spec.subdomainOf", Type: RelationPartOf, Reverse: RelationHasPart, TargetKind: "Domain"},
		}},
		{Kind: "Group", APIVersions: backstage, Relations: []RelationRule{
			{Field: "spec.parent", Type: RelationChildOf, Reverse: RelationParentOf, TargetKind: "Group"},
			{Field: "spec.children", Type: RelationParentOf, Reverse: RelationChildOf, TargetKind: "Group"},
			{Field: "spec.members", Type: RelationHasMember, Reverse: RelationMemberOf, TargetKind: "User"},
		}},
		{Kind: "User", APIVersions: backstage, Relations: []RelationRule{
			{Field: "spec.memberOf", Type: RelationMemberOf, Reverse: RelationHasMember, TargetKind: "Group"},
		}},
		{Kind: "Location", APIVersions: backstage},
		{Kind: "Template", APIVersions: []string{APIVersionScaffolderV1beta3}, Relations: []RelationRule{owner}},
	}
	for i := range defs {
		name := "schemas/kinds/" + defs[i].Kind + ".schema.json"
		data, err := schemaFS.ReadFile(name)
		if err != nil {
			panic(err) // embedded at build time; cannot be missing
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			panic(fmt.Sprintf("%s: %v", name, err))
		}
		defs[i].Schema = doc
		defs[i].SchemaURL = "portico:///" + name
	}
	return defs
}

// NewRegistry returns a registry of the built-in kinds plus defs. A
// definition for an apiVersion and kind that is already known replaces the
// earlier one; that is how a deployment relaxes a built-in kind's schema.
func NewRegistry(defs ...KindDefinition) (*Registry, error) {
	r := &Registry{kinds: map[kindKey]*registeredKind{}, byKind: map[string][]string{}, builtinRules: map[string][]RelationRule{}}
	builtins := BuiltinKinds()
	for _, def := range builtins {
		if slices.Contains(def.APIVersions, APIVersionV1alpha1) {
			r.builtinRules[def.Kind] = def.Relations
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(baseSchemaLoader{})
	all := append(builtins, defs...)
	// Several kinds may share one schema file; it can be added only once.
	compiled := map[string]*jsonschema.Schema{}
	for i, def := range all {
		if err := def.check(); err != nil {
			return nil, err
		}
		url := def.SchemaURL
		if url == "" {
			url = fmt.Sprintf("portico:///kinds/%d/%s.schema.json", i, def.Kind)
		} else if !strings.Contains(url, ":") || filepath.IsAbs(url) {
			abs, err := filepath.Abs(url)
			if err != nil {
				return nil, fmt.Errorf("kind %s: schema %s: %w", def.Kind, url, err)
			}
			url = "file://" + filepath.ToSlash(abs)
		}
		sch := compiled[url]
		if def.Schema != nil && sch == nil {
			if err := c.AddResource(url, def.Schema); err != nil {
				return nil, fmt.Errorf("kind %s: schema %s: %w", def.Kind, def.SchemaURL, err)
			}
			var err error
			if sch, err = c.Compile(url); err != nil {
				return nil, fmt.Errorf("kind %s: schema %s: %w", def.Kind, def.SchemaURL, err)
			}
			compiled[url] = sch
		}
		for _, v := range def.APIVersions {
			key := kindKey{v, def.Kind}
			if _, ok := r.kinds[key]; !ok {
				r.byKind[def.Kind] = append(r.byKind[def.Kind], v)
			}
			r.kinds[key] = &registeredKind{def: def, schema: sch, specOnly: i < len(builtins)}
		}
	}
	return r, nil
}

var relationTypePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (def *KindDefinition) check() error {
	if !isValidKind(def.Kind) {
		return fmt.Errorf("kind %q is not a valid kind: %s", def.Kind, DefaultValidators().Kind.Rule)
	}
	if len(def.APIVersions) == 0 {
		return fmt.Errorf("kind %s: no apiVersion given", def.Kind)
	}
	for _, v := range def.APIVersions {
		if !isValidAPIVersion(v) {
			return fmt.Errorf("kind %s: %q is not a valid apiVersion: %s", def.Kind, v, DefaultValidators().APIVersion.Rule)
		}
	}
	for i, rule := range def.Relations {
		where := fmt.Sprintf("kind %s: relations[%d]", def.Kind, i)
		if !strings.HasPrefix(rule.Field, "spec.") || len(rule.Field) == len("spec.") || strings.Contains(rule.Field, "..") {
			return fmt.Errorf("%s: field %q must be a dotted path inside spec, such as spec.maintainer", where, rule.Field)
		}
		for _, t := range []string{rule.Type, rule.Reverse} {
			if !relationTypePattern.MatchString(t) {
				return fmt.Errorf("%s: relation type %q must be letters, digits, '-' or '_' (type and reverse are both required)", where, t)
			}
		}
		if rule.TargetKind != "" && !isValidKind(rule.TargetKind) {
			return fmt.Errorf("%s: targetKind %q is not a valid kind", where, rule.TargetKind)
		}
		if rule.TargetNamespace != "" && !isValidDNSLabel(rule.TargetNamespace) {
			return fmt.Errorf("%s: targetNamespace %q is not a valid namespace", where, rule.TargetNamespace)
		}
	}
	return nil
}

// LoadKindConfigs reads the schema files of cfgs and turns them into kind
// definitions for NewRegistry. Relative schema paths are resolved against
// baseDir; the server and the CLI pass the working directory, as Backstage
// resolves paths in app-config.
func LoadKindConfigs(cfgs []KindConfig, baseDir string) ([]KindDefinition, error) {
	defs := make([]KindDefinition, 0, len(cfgs))
	for i, kc := range cfgs {
		where := fmt.Sprintf("catalog.kinds[%d]", i)
		if kc.Kind == "" || kc.APIVersion == "" {
			return nil, fmt.Errorf("%s: apiVersion and kind are required", where)
		}
		def := KindDefinition{Kind: kc.Kind, APIVersions: []string{kc.APIVersion}, Relations: kc.Relations}
		if kc.Schema == "" {
			return nil, fmt.Errorf("%s (%s %s): schema is required: give the path of a JSON Schema file", where, kc.APIVersion, kc.Kind)
		}
		p := kc.Schema
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s (%s %s): %w", where, kc.APIVersion, kc.Kind, err)
		}
		doc, err := decodeSchemaFile(p, data)
		if err != nil {
			return nil, fmt.Errorf("%s (%s %s): schema %s: %w", where, kc.APIVersion, kc.Kind, p, err)
		}
		def.Schema, def.SchemaURL = doc, p
		defs = append(defs, def)
	}
	return defs, nil
}

// decodeSchemaFile reads a JSON Schema written as JSON or YAML.
func decodeSchemaFile(name string, data []byte) (any, error) {
	if ext := strings.ToLower(filepath.Ext(name)); ext == ".yaml" || ext == ".yml" {
		docs, err := ParseYAML(data)
		if err != nil {
			return nil, err
		}
		if len(docs) != 1 {
			return nil, fmt.Errorf("expected one YAML document, found %d", len(docs))
		}
		if docs[0].Err != nil {
			return nil, docs[0].Err
		}
		return docs[0].Value, nil
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(data))
}

// baseSchemaLoader resolves the base schemas (Entity, EntityEnvelope,
// EntityMeta, common) wherever a kind schema refers to them by relative name,
// as Backstage's kind schemas do, and loads other schema files from disk.
type baseSchemaLoader struct{}

func (baseSchemaLoader) Load(url string) (any, error) {
	base := strings.TrimSuffix(path.Base(url), ".json")
	base = strings.TrimSuffix(base, ".schema")
	switch base {
	case "Entity", "EntityEnvelope", "EntityMeta", "common":
		data, err := schemaFS.ReadFile("schemas/" + base + ".schema.json")
		if err != nil {
			return nil, err
		}
		return jsonschema.UnmarshalJSON(bytes.NewReader(data))
	}
	if strings.HasPrefix(url, "file://") {
		p := strings.TrimPrefix(url, "file://")
		data, err := os.ReadFile(filepath.FromSlash(p))
		if err != nil {
			return nil, err
		}
		return decodeSchemaFile(p, data)
	}
	return nil, fmt.Errorf("cannot load schema %s: only files and the catalog base schemas (Entity, EntityEnvelope, EntityMeta, common) can be referenced", url)
}

// Lookup returns the definition registered for apiVersion and kind.
func (r *Registry) Lookup(apiVersion, kind string) (KindDefinition, bool) {
	k, ok := r.kinds[kindKey{apiVersion, kind}]
	if !ok {
		return KindDefinition{}, false
	}
	return k.def, true
}

// Kinds returns the registered kinds and, for each, its apiVersions.
func (r *Registry) Kinds() map[string][]string {
	out := make(map[string][]string, len(r.byKind))
	for k, v := range r.byKind {
		out[k] = slices.Clone(v)
	}
	return out
}

// ValidateKind checks e against the schema of its apiVersion and kind.
// known is false when no such kind is registered; err lists every schema
// violation otherwise.
func (r *Registry) ValidateKind(e *Entity) (known bool, err error) {
	k, ok := r.kinds[kindKey{e.APIVersion, e.Kind}]
	if !ok {
		return false, nil
	}
	if k.schema == nil {
		return true, nil
	}
	var doc map[string]any
	if k.specOnly {
		doc = map[string]any{}
		if e.Spec != nil {
			doc["spec"] = e.Spec
		}
	} else {
		doc = e.Value()
	}
	verr := k.schema.Validate(doc)
	if verr == nil {
		return true, nil
	}
	ve, ok := verr.(*jsonschema.ValidationError)
	if !ok {
		return true, fmt.Errorf("validating %s: %w", e.Ref(), verr)
	}
	var ps problems
	schemaProblems(&ps, ve, doc)
	return true, ps.err()
}

// relationRules returns the relation rules that apply to e: those of its
// kind if it is one of Backstage's built-in kinds, whatever its apiVersion,
// plus those of its registered definition on other fields.
func (r *Registry) relationRules(e *Entity) []RelationRule {
	rules := r.builtinRules[e.Kind]
	k, ok := r.kinds[kindKey{e.APIVersion, e.Kind}]
	if !ok {
		return rules
	}
	if len(rules) == 0 {
		return k.def.Relations
	}
	out := slices.Clone(rules)
	for _, rule := range k.def.Relations {
		if !slices.ContainsFunc(rules, func(b RelationRule) bool { return b.Field == rule.Field }) {
			out = append(out, rule)
		}
	}
	return out
}

// hint explains why an entity's apiVersion and kind are not registered.
func (r *Registry) hint(e *Entity) string {
	if versions, ok := r.byKind[e.Kind]; ok {
		return fmt.Sprintf("kind %s is registered for apiVersion %s, not %q", e.Kind, quoteList(versions), e.APIVersion)
	}
	for _, k := range slices.Sorted(maps.Keys(r.byKind)) {
		if strings.EqualFold(k, e.Kind) {
			return fmt.Sprintf("kinds are case-sensitive: did you mean %q?", k)
		}
	}
	return fmt.Sprintf("kind %q is not registered; register it under catalog.kinds or use one of %s", e.Kind, strings.Join(slices.Sorted(maps.Keys(r.byKind)), ", "))
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, " or ")
}

var englishPrinter = message.NewPrinter(language.English)

// schemaProblems turns a JSON Schema validation error tree into problems,
// one per failed leaf, each naming the field, the rule and the value.
func schemaProblems(ps *problems, ve *jsonschema.ValidationError, doc any) {
	field := strings.Join(ve.InstanceLocation, ".")
	switch ve.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		// Report the alternatives whose type matched; if none did, one
		// message listing the types the value may have.
		var matched []*jsonschema.ValidationError
		var types []string
		for _, c := range ve.Causes {
			if t, ok := c.ErrorKind.(*kind.Type); ok && len(c.Causes) == 0 && slices.Equal(c.InstanceLocation, ve.InstanceLocation) {
				types = append(types, t.Want...)
				continue
			}
			matched = append(matched, c)
		}
		if len(matched) == 0 && len(types) > 0 {
			ps.add(field, "must be %s, got %s", typeList(types), describe(valueAt(doc, ve.InstanceLocation)))
			return
		}
		if len(matched) > 0 {
			for _, c := range matched {
				schemaProblems(ps, c, doc)
			}
			return
		}
	}
	if len(ve.Causes) > 0 {
		// The validator reports sibling properties in map order; sort them
		// so that the same entity always gives the same messages.
		causes := slices.Clone(ve.Causes)
		slices.SortStableFunc(causes, func(a, b *jsonschema.ValidationError) int {
			return strings.Compare(strings.Join(a.InstanceLocation, "\x00"), strings.Join(b.InstanceLocation, "\x00"))
		})
		for _, c := range causes {
			schemaProblems(ps, c, doc)
		}
		return
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			ps.add(joinField(field, m), "is required")
		}
	case *kind.Type:
		ps.add(field, "must be %s, got %s", typeList(k.Want), describe(valueAt(doc, ve.InstanceLocation)))
	case *kind.MinItems:
		ps.add(field, "must have at least %d %s", k.Want, nounFor(k.Want, "item", "items"))
	case *kind.MaxItems:
		ps.add(field, "must have at most %d %s", k.Want, nounFor(k.Want, "item", "items"))
	case *kind.MaxLength:
		ps.add(field, "%s is too long: use at most %d characters", describe(valueAt(doc, ve.InstanceLocation)), k.Want)
	case *kind.Pattern:
		ps.add(field, "%s does not match the pattern %q", describe(valueAt(doc, ve.InstanceLocation)), k.Want)
	case *kind.MinLength:
		if k.Want == 1 {
			ps.add(field, "must not be empty")
		} else {
			ps.add(field, "%s is too short: use at least %d characters", describe(valueAt(doc, ve.InstanceLocation)), k.Want)
		}
	case *kind.Enum:
		ps.add(field, "%s is not allowed: use one of %s", describe(valueAt(doc, ve.InstanceLocation)), jsonList(k.Want))
	case *kind.Const:
		ps.add(field, "%s is not allowed: use %s", describe(valueAt(doc, ve.InstanceLocation)), jsonList([]any{k.Want}))
	case *kind.FalseSchema:
		ps.add(field, "is not allowed")
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			ps.add(joinField(field, p), "unknown field: not allowed by the kind's schema")
		}
	default:
		ps.add(field, "%s", ve.ErrorKind.LocalizedString(englishPrinter))
	}
}

var schemaTypeNames = map[string]string{
	"string": "a string", "array": "a list", "object": "an object", "number": "a number",
	"integer": "an integer", "boolean": "a boolean", "null": "null",
}

func typeList(types []string) string {
	names := make([]string, 0, len(types))
	for _, t := range types {
		n := schemaTypeNames[t]
		if n == "" {
			n = t
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, " or ")
}

func nounFor(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinField(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

func jsonList(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		b, _ := json.Marshal(v)
		parts[i] = string(b)
	}
	return strings.Join(parts, ", ")
}

func valueAt(doc any, loc []string) any {
	v := doc
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
