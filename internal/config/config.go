// Package config loads Portico's configuration in Backstage's app-config.yaml
// layout: several files merged in order, environment substitution, the
// $env/$file/$include directives, and typed sections that each plugin decodes
// and validates itself.
//
// Errors always name the key path and the file (and line) the offending value
// came from, because a config mistake is found by reading the file.
package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Config is a merged, substituted configuration tree. It is safe for
// concurrent reads.
type Config struct {
	root  *node
	files []string

	mu       sync.Mutex
	warnings []string
}

// node is one value of the tree with the place it was written.
type node struct {
	// value is map[string]*node, []*node, string, bool, int64, float64 or nil.
	value any
	// keys keeps the order map keys were written in, for stable output.
	keys []string
	file string
	line int
}

func (n *node) where() string {
	if n == nil || n.file == "" {
		return ""
	}
	if n.line > 0 {
		return fmt.Sprintf(" (%s:%d)", n.file, n.line)
	}
	return fmt.Sprintf(" (%s)", n.file)
}

// Files returns the files the configuration was read from, in merge order.
func (c *Config) Files() []string { return slices.Clone(c.files) }

// Has reports whether a value exists at the dotted key path.
func (c *Config) Has(path string) bool { return c.lookup(path) != nil }

// Value returns the value at the dotted key path for typed access; the zero
// Value (Exists false) when there is none.
func (c *Config) Value(path string) Value {
	return Value{n: c.lookup(path), path: path, cfg: c}
}

// Decode decodes the section at the dotted key path ("" for the whole file)
// into dst, a pointer to a struct, map, slice or scalar. Struct fields are
// matched by their `yaml` tag. A missing section leaves dst unchanged, so
// callers set defaults first. Keys the struct does not know are recorded as
// warnings.
func (c *Config) Decode(path string, dst any) error {
	return c.Value(path).Decode(dst)
}

// Keys returns the keys of the map at path in the order they were written.
func (c *Config) Keys(path string) []string {
	n := c.lookup(path)
	if n == nil {
		return nil
	}
	if _, ok := n.value.(map[string]*node); !ok {
		return nil
	}
	return slices.Clone(n.keys)
}

// Warnings returns what loading and decoding found questionable but not
// fatal, such as unknown keys. Each warning is reported once.
func (c *Config) Warnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.warnings)
}

func (c *Config) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.warnings, msg) {
		c.warnings = append(c.warnings, msg)
	}
}

// CheckTopLevel records a warning for every top-level key that is not in
// known, so a misspelt section does not go unnoticed.
func (c *Config) CheckTopLevel(known []string) {
	m, ok := c.root.value.(map[string]*node)
	if !ok {
		return
	}
	for _, k := range c.root.keys {
		if !slices.Contains(known, k) {
			c.warn("unknown top-level key %q%s is ignored; known sections are %s", k, m[k].where(), strings.Join(sorted(known), ", "))
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func (c *Config) lookup(path string) *node {
	n := c.root
	if path == "" {
		return n
	}
	for _, part := range strings.Split(path, ".") {
		m, ok := n.value.(map[string]*node)
		if !ok {
			return nil
		}
		n = m[part]
		if n == nil {
			return nil
		}
	}
	return n
}

// Set stores a value at the dotted key path, creating maps on the way. It is
// meant for defaults that depend on other settings and for tests; values set
// this way are reported as coming from "built-in defaults".
func (c *Config) Set(path string, value any) {
	parts := strings.Split(path, ".")
	n := c.root
	for _, part := range parts[:len(parts)-1] {
		m, ok := n.value.(map[string]*node)
		if !ok {
			m = map[string]*node{}
			n.value, n.keys = m, nil
		}
		child := m[part]
		if child == nil {
			child = &node{value: map[string]*node{}, file: "built-in defaults"}
			m[part] = child
			n.keys = append(n.keys, part)
		}
		n = child
	}
	m, ok := n.value.(map[string]*node)
	if !ok {
		m = map[string]*node{}
		n.value, n.keys = m, nil
	}
	last := parts[len(parts)-1]
	if _, exists := m[last]; !exists {
		n.keys = append(n.keys, last)
	}
	m[last] = fromPlain(value, "built-in defaults")
}

// fromPlain converts a plain Go value (as produced by encoding/json or YAML
// decoding into any) into a node tree.
func fromPlain(v any, file string) *node {
	switch v := v.(type) {
	case map[string]any:
		n := &node{file: file}
		m := make(map[string]*node, len(v))
		for k, val := range v {
			m[k] = fromPlain(val, file)
			n.keys = append(n.keys, k)
		}
		sort.Strings(n.keys)
		n.value = m
		return n
	case []any:
		l := make([]*node, len(v))
		for i, val := range v {
			l[i] = fromPlain(val, file)
		}
		return &node{value: l, file: file}
	case []string:
		l := make([]*node, len(v))
		for i, val := range v {
			l[i] = &node{value: val, file: file}
		}
		return &node{value: l, file: file}
	case int:
		return &node{value: int64(v), file: file}
	case float64:
		if v == float64(int64(v)) {
			return &node{value: int64(v), file: file}
		}
		return &node{value: v, file: file}
	default:
		return &node{value: v, file: file}
	}
}

// merge merges src over dst: maps merge deeply, anything else replaces.
func merge(dst, src *node) *node {
	if dst == nil {
		return src
	}
	dm, dok := dst.value.(map[string]*node)
	sm, sok := src.value.(map[string]*node)
	if !dok || !sok {
		return src
	}
	out := &node{value: map[string]*node{}, keys: slices.Clone(dst.keys), file: src.file, line: src.line}
	om := out.value.(map[string]*node)
	for k, v := range dm {
		om[k] = v
	}
	for _, k := range src.keys {
		if _, exists := om[k]; !exists {
			out.keys = append(out.keys, k)
		}
		om[k] = merge(om[k], sm[k])
	}
	return out
}
