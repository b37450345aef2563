package expr

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Merge merges src (an action result or event payload) into target (state
// data, or the part of it toStateData selects) and returns the result,
// following SonataFlow's rules (kogito MergeUtils), which refine the spec's
// "Data Merging" section:
//
//   - a null target, or an empty object target with a non-null src, is
//     replaced by src;
//   - objects merge key by key, recursively; on a conflict src wins;
//   - a non-object, non-null src merged into an object is stored under the
//     key "response";
//   - an array src replaces an array target, unless concatArrays is set: then
//     the src elements not already in the target are appended, which is what
//     the spec's example shows;
//   - a non-array src merged into an array is appended unless already present
//     (null is not appended);
//   - into a string, number or boolean target: an array src gets the target
//     prepended unless present, an object src gets the target under
//     "_target", and any other src (null too) replaces it.
//
// Merge never modifies its arguments; the result may share unchanged parts
// with them.
func Merge(src, target any, concatArrays bool) any {
	if target == nil || isEmptyObject(target) && src != nil {
		return src
	}
	switch t := target.(type) {
	case []any:
		if s, ok := src.([]any); ok {
			if !concatArrays {
				return s
			}
			out := slices.Clone(t)
			for _, x := range s {
				out = appendUnique(out, x)
			}
			return out
		}
		if src == nil {
			return t
		}
		return appendUnique(slices.Clone(t), src)
	case map[string]any:
		switch s := src.(type) {
		case map[string]any:
			out := maps.Clone(t)
			for k, v := range s {
				if old, ok := t[k]; ok {
					out[k] = Merge(v, old, concatArrays)
				} else {
					out[k] = v
				}
			}
			return out
		case nil:
			return t
		default:
			out := maps.Clone(t)
			out["response"] = s
			return out
		}
	}
	switch s := src.(type) {
	case []any:
		if slices.ContainsFunc(s, func(x any) bool { return Equal(x, target) }) {
			return s
		}
		return append([]any{target}, s...)
	case map[string]any:
		out := maps.Clone(s)
		out["_target"] = target
		return out
	}
	return src
}

func isEmptyObject(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

func appendUnique(list []any, x any) []any {
	if slices.ContainsFunc(list, func(y any) bool { return Equal(x, y) }) {
		return list
	}
	return append(list, x)
}

// ToStatePath returns the property path a toStateData expression assigns
// to, found as SonataFlow finds it: the dot-separated identifiers at the end
// of the expression, so ".a.b" and "${ .a.b }" give [a b].
func ToStatePath(src string) ([]string, error) {
	text := Trim(src)
	var path []string
	end := len(text)
	for i := len(text) - 1; i >= -1; i-- {
		if i >= 0 && (isIdentByte(text[i]) || text[i] >= 0x80) {
			continue
		}
		name := text[i+1 : end]
		if name == "" {
			break
		}
		path = append(path, name)
		if i < 0 || text[i] != '.' {
			break
		}
		end = i
	}
	if len(path) == 0 {
		return nil, fmt.Errorf("toStateData %q does not end in a property path such as .a.b", src)
	}
	slices.Reverse(path)
	return path, nil
}

// assign returns a copy of data with value merged into the element at path,
// creating the objects on the way (and replacing non-objects there).
func assign(data any, path []string, value any) (any, error) {
	root, ok := data.(map[string]any)
	if !ok {
		return nil, errors.New("toStateData needs state data that is an object, got " + typeName(data))
	}
	out := maps.Clone(root)
	cur := out
	for _, p := range path[:len(path)-1] {
		var next map[string]any
		if m, ok := cur[p].(map[string]any); ok {
			next = maps.Clone(m)
		} else {
			next = map[string]any{}
		}
		cur[p] = next
		cur = next
	}
	cur[path[len(path)-1]] = value
	return out, nil
}

// lookup returns the element at path, or nil when the path does not exist.
func lookup(data any, path []string) any {
	for _, p := range path {
		m, ok := data.(map[string]any)
		if !ok {
			return nil
		}
		data = m[p]
	}
	return data
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "number"
}
