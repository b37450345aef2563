package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Options controls how configuration is loaded.
type Options struct {
	// Files are merged in order; later files win.
	Files []string
	// Defaults are YAML documents merged below the files, in order. Name is
	// what errors call them ("built-in defaults").
	Defaults []Document
	// LookupEnv reads environment variables; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment for APP_CONFIG_ overrides; os.Environ when nil.
	Environ func() []string
}

// Document is configuration text with the name it is reported under.
type Document struct {
	Name string
	Data []byte
}

// Load reads, substitutes and merges the configuration. Its errors name the
// file, the key path and what to do.
func Load(opts Options) (*Config, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	l := &loader{lookupEnv: opts.LookupEnv}
	root := &node{value: map[string]*node{}}
	cfg := &Config{}
	for _, d := range opts.Defaults {
		n, err := l.parse(d.Data, d.Name, "")
		if err != nil {
			return nil, err
		}
		root = merge(root, n)
	}
	for _, f := range opts.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("cannot read config file %s: %w; check the path given with --config or PORTICO_CONFIG", f, unwrapPathError(err))
		}
		n, err := l.parse(data, f, filepath.Dir(f))
		if err != nil {
			return nil, err
		}
		if n.value == nil { // an empty file
			continue
		}
		root = merge(root, n)
		cfg.files = append(cfg.files, f)
	}
	if err := applyEnvOverrides(root, opts.Environ()); err != nil {
		return nil, err
	}
	if _, ok := root.value.(map[string]*node); !ok {
		return nil, fmt.Errorf("%s: the configuration must be a map of keys at the top level", root.file)
	}
	cfg.root = root
	return cfg, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type loader struct {
	lookupEnv func(string) (string, bool)
	// including guards against $include cycles.
	including []string
}

// parse turns one YAML document into a node tree, resolving directives and
// substitutions relative to dir.
func (l *loader) parse(data []byte, file, dir string) (*node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // an empty file
			return &node{file: file}, nil
		}
		return nil, fmt.Errorf("%s: invalid YAML: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return &node{file: file}, nil
	}
	return l.convert(doc.Content[0], file, dir, "")
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (l *loader) convert(y *yaml.Node, file, dir, path string) (*node, error) {
	at := func(format string, args ...any) error {
		p := path
		if p == "" {
			p = "<root>"
		}
		return fmt.Errorf("%s: %s (%s:%d)", p, fmt.Sprintf(format, args...), file, y.Line)
	}
	switch y.Kind {
	case yaml.AliasNode:
		return l.convert(y.Alias, file, dir, path)
	case yaml.MappingNode:
		if len(y.Content) == 2 && strings.HasPrefix(y.Content[0].Value, "$") {
			if n, ok, err := l.directive(y, file, dir, path); ok || err != nil {
				return n, err
			}
		}
		n := &node{file: file, line: y.Line}
		m := make(map[string]*node, len(y.Content)/2)
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, at("map keys must be plain strings")
			}
			if k.Value == "<<" { // YAML merge key
				base, err := l.convert(v, file, dir, path)
				if err != nil {
					return nil, err
				}
				if bm, ok := base.value.(map[string]*node); ok {
					for _, bk := range base.keys {
						if _, exists := m[bk]; !exists {
							m[bk] = bm[bk]
							n.keys = append(n.keys, bk)
						}
					}
				}
				continue
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("%s: key is given twice (%s:%d); remove one of them", joinPath(path, k.Value), file, k.Line)
			}
			child, err := l.convert(v, file, dir, joinPath(path, k.Value))
			if err != nil {
				return nil, err
			}
			m[k.Value] = child
			n.keys = append(n.keys, k.Value)
		}
		n.value = m
		return n, nil
	case yaml.SequenceNode:
		list := make([]*node, 0, len(y.Content))
		for i, item := range y.Content {
			child, err := l.convert(item, file, dir, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			list = append(list, child)
		}
		return &node{value: list, file: file, line: y.Line}, nil
	case yaml.ScalarNode:
		v, err := scalarValue(y)
		if err != nil {
			return nil, at("%v", err)
		}
		if s, ok := v.(string); ok {
			sub, err := l.substitute(s)
			if err != nil {
				return nil, at("%v", err)
			}
			v = sub
		}
		return &node{value: v, file: file, line: y.Line}, nil
	}
	return nil, at("unsupported YAML node")
}

// scalarValue decodes a YAML scalar into string, bool, int64, float64 or nil.
func scalarValue(y *yaml.Node) (any, error) {
	switch y.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := y.Decode(&b); err != nil {
			return nil, err
		}
		return b, nil
	case "!!int":
		var i int64
		if err := y.Decode(&i); err != nil {
			return nil, err
		}
		return i, nil
	case "!!float":
		var f float64
		if err := y.Decode(&f); err != nil {
			return nil, err
		}
		return f, nil
	default:
		return y.Value, nil
	}
}

// directive resolves {$env: VAR}, {$file: path} and {$include: path[#key]}.
// ok is false when the single key is not a directive.
func (l *loader) directive(y *yaml.Node, file, dir, path string) (*node, bool, error) {
	key, arg := y.Content[0].Value, y.Content[1]
	if key != "$env" && key != "$file" && key != "$include" {
		return nil, false, nil
	}
	fail := func(format string, args ...any) (*node, bool, error) {
		p := path
		if p == "" {
			p = "<root>"
		}
		return nil, true, fmt.Errorf("%s: %s: %s (%s:%d)", p, key, fmt.Sprintf(format, args...), file, y.Line)
	}
	if arg.Kind != yaml.ScalarNode || arg.Value == "" {
		return fail("expected a non-empty string")
	}
	switch key {
	case "$env":
		v, ok := l.lookupEnv(arg.Value)
		if !ok {
			return fail("environment variable %s is not set; set it or replace the value", arg.Value)
		}
		return &node{value: v, file: file, line: y.Line}, true, nil
	case "$file":
		p := resolvePath(dir, arg.Value)
		data, err := os.ReadFile(p)
		if err != nil {
			return fail("cannot read %s: %v", p, unwrapPathError(err))
		}
		return &node{value: string(data), file: file, line: y.Line}, true, nil
	default: // $include
		target, fragment, _ := strings.Cut(arg.Value, "#")
		p := resolvePath(dir, target)
		for _, inc := range l.including {
			if inc == p {
				return fail("%s includes itself", p)
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fail("cannot read %s: %v", p, unwrapPathError(err))
		}
		l.including = append(l.including, p)
		defer func() { l.including = l.including[:len(l.including)-1] }()
		var n *node
		if strings.HasSuffix(p, ".json") {
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				return fail("invalid JSON in %s: %v", p, err)
			}
			n = fromPlain(v, p)
		} else {
			n, err = l.parse(data, p, filepath.Dir(p))
			if err != nil {
				return nil, true, err
			}
		}
		if fragment != "" {
			for _, part := range strings.Split(fragment, ".") {
				m, ok := n.value.(map[string]*node)
				if !ok || m[part] == nil {
					return fail("%s has no key %q", p, fragment)
				}
				n = m[part]
			}
		}
		return n, true, nil
	}
}

func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// substitute replaces ${VAR} and ${VAR:-default} in s; $${ is a literal ${.
func (l *loader) substitute(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' { // escaped: $${...} stays ${...}
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		end := strings.Index(s[i:], "}")
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q; close it with } or write $${ for a literal ${", s)
		}
		expr := s[i+2 : i+end]
		name, def, hasDefault := strings.Cut(expr, ":-")
		name = strings.TrimSpace(name)
		if name == "" {
			return "", fmt.Errorf("empty ${} in %q", s)
		}
		v, ok := l.lookupEnv(name)
		if !ok || (v == "" && hasDefault) {
			if !hasDefault {
				return "", fmt.Errorf("environment variable %s is not set; set it or give a default as ${%s:-value}", name, name)
			}
			v = def
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+end+1:]
	}
}

// applyEnvOverrides applies Backstage's APP_CONFIG_a_b_c=value variables: the
// value is parsed as JSON when it can be, otherwise kept as a string.
func applyEnvOverrides(root *node, environ []string) error {
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "APP_CONFIG_") {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(name, "APP_CONFIG_"), "_")
		for _, p := range parts {
			if p == "" {
				return fmt.Errorf("environment variable %s: empty key segment; write APP_CONFIG_section_key", name)
			}
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			v = value
		}
		src := "environment variable " + name
		leaf := fromPlain(v, src)
		for i := len(parts) - 1; i >= 0; i-- {
			leaf = &node{value: map[string]*node{parts[i]: leaf}, keys: []string{parts[i]}, file: src}
		}
		*root = *merge(root, leaf)
	}
	return nil
}

// parseNumber converts a numeric string (as env substitution produces) to a
// number; ok is false when s is not one.
func parseNumber(s string) (int64, float64, bool, bool) {
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, float64(i), true, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, f, false, true
	}
	return 0, 0, false, false
}
