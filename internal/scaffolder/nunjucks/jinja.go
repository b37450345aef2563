package nunjucks

import (
	"errors"
	"math"
)

// jinjaMember is member access with Jinja compatibility: Python-style
// methods on lists and dicts come first (as the compatibility layer of
// Nunjucks installs them), and on a falsy value the dict methods still
// answer (as on an empty dict).
func jinjaMember(obj, key any) any {
	self := obj
	if !truthy(self) {
		self = newObject(0)
	}
	if name, ok := key.(string); ok {
		if a, ok := self.([]any); ok {
			if f := jinjaListMethod(a, name); f != nil {
				return f
			}
		}
		if isObject(self) {
			if f := jinjaDictMethod(self, name); f != nil {
				return f
			}
		}
	}
	return memberLookup(obj, key)
}

// jinjaListMethod returns the read-only Python list methods; the mutating
// ones (append, pop, …) are not offered because template values are
// shared with the caller.
func jinjaListMethod(a []any, name string) Func {
	switch name {
	case "count":
		return func(args ...any) (any, error) {
			n := 0
			for _, x := range a {
				if strictEquals(norm(x), arg(args, 0)) {
					n++
				}
			}
			return float64(n), nil
		}
	case "index", "find":
		return func(args ...any) (any, error) {
			for i, x := range a {
				if strictEquals(norm(x), arg(args, 0)) {
					return float64(i), nil
				}
			}
			if name == "index" {
				return nil, errors.New("ValueError")
			}
			return -1.0, nil
		}
	}
	return nil
}

// jinjaDictMethod returns the read-only Python dict methods.
func jinjaDictMethod(obj any, name string) Func {
	switch name {
	case "items", "iteritems":
		return func(...any) (any, error) {
			out := []any{}
			for _, k := range objectKeys(obj) {
				v, _ := objectGet(obj, k)
				out = append(out, []any{k, norm(v)})
			}
			return out, nil
		}
	case "values", "itervalues":
		return func(...any) (any, error) {
			out := []any{}
			for _, k := range objectKeys(obj) {
				v, _ := objectGet(obj, k)
				out = append(out, norm(v))
			}
			return out, nil
		}
	case "keys", "iterkeys":
		return func(...any) (any, error) {
			out := []any{}
			for _, k := range objectKeys(obj) {
				out = append(out, k)
			}
			return out, nil
		}
	case "get":
		return func(args ...any) (any, error) {
			v := memberLookup(obj, arg(args, 0))
			if isUndefined(v) {
				return arg(args, 1), nil
			}
			return v, nil
		}
	case "has_key":
		return func(args ...any) (any, error) {
			_, ok := objectGet(obj, propertyKey(arg(args, 0)))
			return ok, nil
		}
	}
	return nil
}

// evalSlice is Jinja's `value[start:stop:step]`, with the quirks of the
// compatibility layer (an array results even for strings).
func (r *renderer) evalSlice(x *sliceNode) (any, error) {
	target, err := r.eval(x.target)
	if err != nil {
		return nil, err
	}
	var bounds [3]any
	for i, n := range []node{x.start, x.stop, x.step} {
		if bounds[i], err = r.eval(n); err != nil {
			return nil, err
		}
	}
	if !truthy(target) {
		target = []any{}
	}
	n, ok := lengthOf(target)
	if !ok {
		return nil, r.errorf(x, "cannot slice %s: only lists and strings can be sliced", describe(target))
	}
	length := float64(n)
	step := toNumber(bounds[2])
	var start, stop float64
	if bounds[0] == nil {
		start = 0
		if step < 0 {
			start = length - 1
		}
	} else {
		start = toNumber(bounds[0])
	}
	if bounds[1] == nil {
		stop = length
		if step < 0 {
			stop = -1
		}
	} else if stop = toNumber(bounds[1]); stop < 0 {
		stop += length
	}
	if start < 0 {
		start += length
	}
	out := []any{}
	for i := start; ; i += step {
		if err := r.step(x); err != nil {
			return nil, err
		}
		if i < 0 || i > length || math.IsNaN(i) {
			break
		}
		if step > 0 && i >= stop {
			break
		}
		if step < 0 && i <= stop {
			break
		}
		out = append(out, memberLookup(target, i))
	}
	return out, nil
}
