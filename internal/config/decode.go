package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Value is one value of the configuration, with where it was written. Types
// that implement Unmarshaler receive it to decode themselves.
type Value struct {
	n    *node
	path string
	cfg  *Config
}

// Unmarshaler is implemented by types that decode a config value themselves,
// for values that may take several shapes (a string or an object, say).
type Unmarshaler interface {
	UnmarshalConfig(v Value) error
}

// Exists reports whether the value was given.
func (v Value) Exists() bool { return v.n != nil }

// Path is the dotted key path of the value.
func (v Value) Path() string { return v.path }

// Where returns " (file:line)" for messages, or "" when unknown.
func (v Value) Where() string { return v.n.where() }

// IsMap reports whether the value is a map.
func (v Value) IsMap() bool {
	_, ok := v.n.value.(map[string]*node)
	return v.n != nil && ok
}

// IsString reports whether the value is a string.
func (v Value) IsString() bool {
	_, ok := v.n.value.(string)
	return v.n != nil && ok
}

// Errorf returns an error that names the value's key path and place.
func (v Value) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s%s", v.displayPath(), fmt.Sprintf(format, args...), v.Where())
}

func (v Value) displayPath() string {
	if v.path == "" {
		return "<root>"
	}
	return v.path
}

// Field returns the value at key below this map value.
func (v Value) Field(key string) Value {
	var child *node
	if m, ok := v.n.value.(map[string]*node); ok && v.n != nil {
		child = m[key]
	}
	return Value{n: child, path: joinPath(v.path, key), cfg: v.cfg}
}

// Plain returns the value as plain Go data: map[string]any, []any, string,
// bool, int64, float64 or nil.
func (v Value) Plain() any { return toPlain(v.n) }

func toPlain(n *node) any {
	if n == nil {
		return nil
	}
	switch val := n.value.(type) {
	case map[string]*node:
		m := make(map[string]any, len(val))
		for k, c := range val {
			m[k] = toPlain(c)
		}
		return m
	case []*node:
		l := make([]any, len(val))
		for i, c := range val {
			l[i] = toPlain(c)
		}
		return l
	default:
		return val
	}
}

// Decode decodes the value into dst, which must be a non-nil pointer. A value
// that does not exist leaves dst unchanged.
func (v Value) Decode(dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: Decode needs a non-nil pointer, got %T", dst)
	}
	if v.n == nil {
		return nil
	}
	return v.decode(rv.Elem())
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (v Value) describe() string {
	switch val := v.n.value.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", val)
	case map[string]*node:
		return "a map"
	case []*node:
		return "a list"
	default:
		return fmt.Sprintf("%v", val)
	}
}

func (v Value) decode(dst reflect.Value) error {
	if dst.CanAddr() && dst.Addr().Type().Implements(unmarshalerType) {
		return dst.Addr().Interface().(Unmarshaler).UnmarshalConfig(v)
	}
	if dst.Type() == durationType {
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		dst.SetInt(int64(d))
		return nil
	}
	if dst.CanAddr() && dst.Addr().Type().Implements(textUnmarshaler) {
		s, ok := v.n.value.(string)
		if !ok {
			return v.Errorf("expected a string, got %s", v.describe())
		}
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return v.Errorf("%v", err)
		}
		return nil
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if v.n.value == nil {
			dst.SetZero()
			return nil
		}
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return v.decode(dst.Elem())
	case reflect.Interface:
		if dst.NumMethod() != 0 {
			return v.Errorf("cannot decode into %s", dst.Type())
		}
		if p := toPlain(v.n); p != nil {
			dst.Set(reflect.ValueOf(p))
		} else {
			dst.SetZero()
		}
		return nil
	case reflect.String:
		switch val := v.n.value.(type) {
		case string:
			dst.SetString(val)
		case int64, float64, bool:
			// Backstage reads numbers and booleans as strings where a string
			// is expected; so do we.
			dst.SetString(fmt.Sprint(val))
		default:
			return v.Errorf("expected a string, got %s", v.describe())
		}
		return nil
	case reflect.Bool:
		switch val := v.n.value.(type) {
		case bool:
			dst.SetBool(val)
		case string:
			switch strings.ToLower(strings.TrimSpace(val)) {
			case "true":
				dst.SetBool(true)
			case "false":
				dst.SetBool(false)
			default:
				return v.Errorf("expected true or false, got %s", v.describe())
			}
		default:
			return v.Errorf("expected true or false, got %s", v.describe())
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := v.integer()
		if err != nil {
			return err
		}
		if dst.OverflowInt(i) {
			return v.Errorf("number %d is out of range", i)
		}
		dst.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := v.integer()
		if err != nil {
			return err
		}
		if i < 0 || dst.OverflowUint(uint64(i)) {
			return v.Errorf("number %d is out of range", i)
		}
		dst.SetUint(uint64(i))
		return nil
	case reflect.Float32, reflect.Float64:
		switch val := v.n.value.(type) {
		case int64:
			dst.SetFloat(float64(val))
		case float64:
			dst.SetFloat(val)
		case string:
			_, f, _, ok := parseNumber(val)
			if !ok {
				return v.Errorf("expected a number, got %s", v.describe())
			}
			dst.SetFloat(f)
		default:
			return v.Errorf("expected a number, got %s", v.describe())
		}
		return nil
	case reflect.Slice:
		list, ok := v.n.value.([]*node)
		if !ok {
			if v.n.value == nil {
				dst.SetZero()
				return nil
			}
			return v.Errorf("expected a list, got %s", v.describe())
		}
		out := reflect.MakeSlice(dst.Type(), len(list), len(list))
		for i, item := range list {
			iv := Value{n: item, path: fmt.Sprintf("%s[%d]", v.path, i), cfg: v.cfg}
			if err := iv.decode(out.Index(i)); err != nil {
				return err
			}
		}
		dst.Set(out)
		return nil
	case reflect.Map:
		m, ok := v.n.value.(map[string]*node)
		if !ok {
			if v.n.value == nil {
				return nil
			}
			return v.Errorf("expected a map, got %s", v.describe())
		}
		if dst.Type().Key().Kind() != reflect.String {
			return v.Errorf("cannot decode into %s", dst.Type())
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(dst.Type(), len(m)))
		}
		for _, k := range v.n.keys {
			elem := reflect.New(dst.Type().Elem()).Elem()
			if err := v.Field(k).decode(elem); err != nil {
				return err
			}
			dst.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), elem)
		}
		return nil
	case reflect.Struct:
		return v.decodeStruct(dst)
	}
	return v.Errorf("cannot decode into %s", dst.Type())
}

func (v Value) integer() (int64, error) {
	switch val := v.n.value.(type) {
	case int64:
		return val, nil
	case float64:
		if val == float64(int64(val)) {
			return int64(val), nil
		}
		return 0, v.Errorf("expected a whole number, got %v", val)
	case string:
		i, _, isInt, ok := parseNumber(val)
		if ok && isInt {
			return i, nil
		}
	}
	return 0, v.Errorf("expected a number, got %s", v.describe())
}

func (v Value) decodeStruct(dst reflect.Value) error {
	m, ok := v.n.value.(map[string]*node)
	if !ok {
		if v.n.value == nil {
			return nil
		}
		return v.Errorf("expected a map, got %s", v.describe())
	}
	known := map[string]bool{}
	t := dst.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if opts == "inline" {
			if err := v.decodeStruct(dst.Field(i)); err != nil {
				return err
			}
			for _, k := range inlineKeys(f.Type) {
				known[k] = true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name[:1]) + f.Name[1:]
		}
		known[name] = true
		if _, present := m[name]; !present {
			continue
		}
		if err := v.Field(name).decode(dst.Field(i)); err != nil {
			return err
		}
	}
	if v.cfg != nil {
		for _, k := range v.n.keys {
			if !known[k] {
				v.cfg.warn("unknown key %s%s is ignored", joinPath(v.path, k), m[k].where())
			}
		}
	}
	return nil
}

func inlineKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}
