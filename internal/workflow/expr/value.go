package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/itchyny/gojq"
)

// Normalize returns v as a JSON-shaped Go value: nil, bool, int, float64,
// *big.Int, string, []any or map[string]any, nested to any depth. These are
// the only types gojq accepts; it panics on others (a map[string]int, a
// struct), so every value reaches jq through Normalize. Values that are
// already JSON-shaped are returned as they are, without copying; other
// values are converted (common Go types directly, anything else through
// encoding/json). Values JSON cannot represent (channels, functions, NaN)
// give an error.
func Normalize(v any) (any, error) {
	if isJSONShaped(v, 0) {
		return v, nil
	}
	return convert(v, 0)
}

// maxDepth bounds recursion over nested values so a cyclic or absurdly deep
// value gives an error instead of exhausting the stack.
const maxDepth = 10000

var errTooDeep = fmt.Errorf("value nested deeper than %d levels", maxDepth)

func isJSONShaped(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch v := v.(type) {
	case nil, bool, int, string, *big.Int:
		return true
	case float64:
		return !math.IsNaN(v) && !math.IsInf(v, 0)
	case []any:
		for _, x := range v {
			if !isJSONShaped(x, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, x := range v {
			if !isJSONShaped(x, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

func convert(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch v := v.(type) {
	case nil, bool, int, string:
		return v, nil
	case *big.Int:
		if v == nil {
			return nil, nil
		}
		return v, nil
	case float64:
		return checkFloat(v)
	case float32:
		return checkFloat(float64(v))
	case int8:
		return int(v), nil
	case int16:
		return int(v), nil
	case int32:
		return int(v), nil
	case int64:
		return fromInt64(v), nil
	case uint8:
		return int(v), nil
	case uint16:
		return int(v), nil
	case uint32:
		return fromInt64(int64(v)), nil
	case uint:
		return fromUint64(uint64(v)), nil
	case uint64:
		return fromUint64(v), nil
	case json.Number:
		return fromNumber(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			c, err := convert(x, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			c, err := convert(x, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		// YAML decoders produce these; JSON keys are strings.
		out := make(map[string]any, len(v))
		for k, x := range v {
			c, err := convert(x, depth+1)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = c
		}
		return out, nil
	case []map[string]any:
		out := make([]any, len(v))
		for i, x := range v {
			c, err := convert(x, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, s := range v {
			out[k] = s
		}
		return out, nil
	}
	return viaJSON(v)
}

func checkFloat(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %v has no JSON representation", f)
	}
	return f, nil
}

func fromInt64(i int64) any {
	if int64(int(i)) == i {
		return int(i)
	}
	return big.NewInt(i)
}

func fromUint64(u uint64) any {
	if u <= math.MaxInt {
		return int(u)
	}
	return new(big.Int).SetUint64(u)
}

func fromNumber(n json.Number) (any, error) {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if b, ok := new(big.Int).SetString(s, 10); ok {
			if b.IsInt64() {
				return fromInt64(b.Int64()), nil
			}
			return b, nil
		}
	}
	f, err := n.Float64()
	if err != nil {
		return nil, fmt.Errorf("invalid number %q: %w", s, err)
	}
	return checkFloat(f)
}

// viaJSON converts any other value the way encoding/json sees it, which
// covers structs, typed maps and slices, and json.Marshaler implementations.
func viaJSON(v any) (out any, err error) {
	// A Marshaler may panic; this package promises errors, never panics.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("cannot convert %T to JSON: %v", v, r)
		}
	}()
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot convert %T to JSON: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("cannot convert %T to JSON: %w", v, err)
	}
	return convert(raw, 0)
}

// Truthy reports whether a condition result counts as true, the way
// SonataFlow reads a jq result as a Boolean (Jackson's JsonNode.asBoolean):
// true; a string whose trimmed text is exactly "true"; an integral number
// other than zero. Everything else is false: false, null, other strings,
// fractional numbers, arrays and objects, and no output at all.
func Truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.TrimSpace(v) == "true"
	case int:
		return v != 0
	case *big.Int:
		return v.Sign() != 0
	case float64:
		return v != 0 && v == math.Trunc(v)
	case json.Number:
		n, err := fromNumber(v)
		return err == nil && Truthy(n)
	}
	return false
}

// Text renders one jq output as text for string interpolation: a string as
// it is, null as the empty string, anything else as compact JSON.
func Text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, err := gojq.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Equal reports whether two JSON values are equal, comparing numbers by
// value (1 equals 1.0), as jq's == does.
func Equal(a, b any) bool {
	return gojq.Compare(a, b) == 0
}
