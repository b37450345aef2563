package nunjucks

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Filter is a template filter: `${{ value | name(arg1, arg2) }}` calls
// it with value and the arguments; keyword arguments arrive as a trailing
// Kwargs. Values are JSON-like Go values, Undefined for a missing value,
// or engine values (an object literal, a SafeString) that ToGo turns into
// plain Go values. A filter may return any JSON-like Go value (or
// NewObject for an object whose key order matters).
type Filter func(value any, args ...any) (any, error)

// typeError mirrors the TypeError JavaScript raises when a filter calls a
// method the value does not have.
func typeError(filter string, v any, want string) error {
	return fmt.Errorf("%s expects %s, got %s", filter, want, describe(v))
}

// describe names a value's kind in error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case undefinedType:
		return "undefined"
	case string:
		return "a string"
	case float64, int:
		return "the number " + toString(x)
	case bool:
		return "the boolean " + toString(x)
	case []any:
		return "an array"
	case Func:
		return "a function"
	}
	if isObject(v) {
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// normalize is Nunjucks' normalize(): null, undefined and false become def.
func normalize(v, def any) any {
	switch x := v.(type) {
	case nil, undefinedType:
		return def
	case bool:
		if !x {
			return def
		}
	}
	return v
}

// stringArg is the value of a string filter after normalize(value, ”):
// anything else but a string is an error, as calling a string method on it
// is in JavaScript.
func stringArg(filter string, v any) (string, error) {
	if ss, ok := v.(*safeString); ok {
		return ss.s, nil
	}
	s, ok := normalize(v, "").(string)
	if !ok {
		return "", typeError(filter, v, "a string")
	}
	return s, nil
}

// macroArgs maps keyword arguments onto the named trailing parameters of
// filters Nunjucks defines as macros (sort, int).
func macroArgs(args []any, names []string) []any {
	var kw Kwargs
	if len(args) > 0 {
		if k, ok := args[len(args)-1].(Kwargs); ok {
			kw = k
			args = args[:len(args)-1]
		}
	}
	out := make([]any, len(names))
	for i := range names {
		switch {
		case i < len(args):
			out[i] = args[i]
		case kw != nil:
			if v, ok := kw[names[i]]; ok {
				out[i] = v
			} else {
				out[i] = Undefined
			}
		default:
			out[i] = Undefined
		}
	}
	return out
}

// listOf is Nunjucks' lib.map / toArray view of a value: arrays as is,
// strings as characters, anything else empty.
func listOf(v any) []any {
	switch x := norm(v).(type) {
	case []any:
		return x
	case string:
		return stringChars(x)
	case *safeString:
		// A SafeString has a length but no indexed characters.
		out := make([]any, jsLength(x.s))
		for i := range out {
			out[i] = Undefined
		}
		return out
	}
	return nil
}

func lengthOf(v any) (int, bool) {
	switch x := norm(v).(type) {
	case []any:
		return len(x), true
	case string:
		return jsLength(x), true
	case *safeString:
		return jsLength(x.s), true
	}
	return 0, false
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `\`, "&#92;")

func escapeFilter(v any, _ ...any) (any, error) {
	if s, ok := v.(*safeString); ok {
		return s, nil
	}
	return forceEscapeFilter(v)
}

func forceEscapeFilter(v any, _ ...any) (any, error) {
	if isNullish(v) {
		return markSafe(""), nil
	}
	return markSafe(htmlEscaper.Replace(toString(v))), nil
}

// ownProp is hasOwnProperty followed by a read, for attribute getters.
func ownProp(item any, part any) (any, bool) {
	k := propertyKey(part)
	switch x := norm(item).(type) {
	case *object, map[string]any, Kwargs:
		v, ok := objectGet(x, k)
		return norm(v), ok
	case []any, string:
		if k == "length" || isArrayIndex(k) {
			v := memberLookup(x, k)
			return v, !isUndefined(v)
		}
	}
	return Undefined, false
}

// attrGetter reads a dotted attribute path; reading a property of null or
// undefined on the way is an error, as hasOwnProperty on it is in
// JavaScript.
func attrGetter(attr any) func(any) (any, error) {
	var parts []any
	switch a := attr.(type) {
	case string:
		if a != "" {
			for _, p := range strings.Split(a, ".") {
				parts = append(parts, p)
			}
		}
	default:
		if truthy(attr) {
			parts = []any{attr}
		}
	}
	return func(item any) (any, error) {
		for _, p := range parts {
			if isNullish(item) {
				return nil, fmt.Errorf("cannot read attribute %q of %s", toString(p), describe(item))
			}
			v, ok := ownProp(item, p)
			if !ok {
				return Undefined, nil
			}
			item = v
		}
		return item, nil
	}
}

// jsRound is Math.round: halves round toward +Infinity.
func jsRound(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	f := math.Floor(x)
	if x-f >= 0.5 {
		return f + 1
	}
	if f == 0 && math.Signbit(x) {
		return math.Copysign(0, -1)
	}
	return f
}

// encodeURIComponent escapes everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ).
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

var (
	stripTagsRe  = regexp.MustCompile(`(?i)</?([a-z][a-z0-9]*)\b[^>]*>|<!--[\s\S]*?-->`)
	wordRe       = regexp.MustCompile(`[A-Za-z0-9_]+`)
	spaceRunRe   = regexp.MustCompile(`[\s\x{a0}\x{feff}]+`)
	lineSpacesRe = regexp.MustCompile(`(?m)^ +| +$`)
	spacesRe     = regexp.MustCompile(` +`)
	manyNLRe     = regexp.MustCompile(`\n\n\n+`)
	puncRe       = regexp.MustCompile(`^(?:\(|<|&lt;)?(.*?)(?:\.|,|\)|\n|&gt;)?$`)
	emailRe      = regexp.MustCompile("(?i)^[\\w.!#$%&'*+\\-/=?^`{|}~]+@[a-z\\d\\-]+(\\.[a-z\\d\\-]+)+$")
	httpRe       = regexp.MustCompile(`^https?://.*$`)
	wwwRe        = regexp.MustCompile(`^www\.`)
	tldRe        = regexp.MustCompile(`\.(?:org|net|com)(?::|/|$)`)
	wsSplitRe    = regexp.MustCompile(`[\s\x{a0}\x{feff}]+`)
)

// builtinFilters returns Nunjucks' built-in filters. seed makes `random`
// deterministic.
func builtinFilters(seed uint64) map[string]Filter {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var rngMu sync.Mutex // renders share the Environment, and so the generator
	f := map[string]Filter{
		"abs": func(v any, _ ...any) (any, error) { return math.Abs(toNumber(v)), nil },
		"batch": func(v any, args ...any) (any, error) {
			if isNullish(v) {
				return nil, typeError("batch", v, "an array")
			}
			arr := listOf(v)
			n := toNumber(arg(args, 0))
			fill := arg(args, 1)
			res := []any{}
			var tmp []any
			for i, x := range arr {
				if math.Mod(float64(i), n) == 0 && len(tmp) > 0 {
					res = append(res, tmp)
					tmp = nil
				}
				tmp = append(tmp, x)
			}
			if len(tmp) > 0 {
				if truthy(fill) {
					if n > maxRange {
						return nil, fmt.Errorf("%w: batch of %s items", ErrOutputLimit, toString(n))
					}
					for i := float64(len(tmp)); i < n; i++ {
						tmp = append(tmp, fill)
					}
				}
				res = append(res, tmp)
			}
			return res, nil
		},
		"capitalize": func(v any, _ ...any) (any, error) {
			s, err := stringArg("capitalize", v)
			if err != nil {
				return nil, err
			}
			return keepSafeness(v, capitalize(s)), nil
		},
		"center": func(v any, args ...any) (any, error) {
			// Nunjucks pads by .length and concatenates, so any value
			// works: arrays by their length, others print as they are.
			val := normalize(v, "")
			w := arg(args, 0)
			width := 80.0
			if truthy(w) {
				width = toNumber(w)
			}
			n := math.NaN()
			if l, ok := lengthOf(val); ok {
				n = float64(l)
			}
			if n >= width {
				return val, nil
			}
			if width > maxStringBuild {
				return nil, ErrOutputLimit
			}
			gap := width - n
			return keepSafeness(val, spaces(gap/2-math.Mod(gap, 2))+toString(val)+spaces(gap/2)), nil
		},
		"default": defaultFilter,
		"d":       defaultFilter,
		"dictsort": func(v any, args ...any) (any, error) {
			v = norm(v)
			if !isObject(v) {
				return nil, errors.New("dictsort filter: val must be an object")
			}
			caseSensitive := truthy(arg(args, 0))
			by := arg(args, 1)
			si := 0
			switch {
			case isUndefined(by) || strictEquals(by, "key"):
			case strictEquals(by, "value"):
				si = 1
			default:
				return nil, errors.New("dictsort filter: You can only sort by either key or value")
			}
			var pairs [][]any
			for _, k := range objectKeys(v) {
				x, _ := objectGet(v, k)
				pairs = append(pairs, []any{k, norm(x)})
			}
			if _, ok := v.(*safeString); ok {
				// for…in also walks SafeString's enumerable prototype
				// methods; they print as their JavaScript source.
				pairs = append(pairs,
					[]any{"valueOf", "function valueOf() {\n  return this.val;\n}"},
					[]any{"toString", "function toString() {\n  return this.val;\n}"})
			}
			key := func(p []any) any {
				x := p[si]
				if s, ok := x.(string); ok && !caseSensitive {
					return jsUpper(s)
				}
				return x
			}
			sort.SliceStable(pairs, func(i, j int) bool {
				a, b := key(pairs[i]), key(pairs[j])
				c, ok := compareValues(a, b)
				// The comparator is a > b ? 1 : a === b ? 0 : -1.
				if ok && c > 0 {
					return false
				}
				return !strictEquals(a, b)
			})
			out := make([]any, len(pairs))
			for i, p := range pairs {
				out[i] = p
			}
			return out, nil
		},
		"dump": func(v any, args ...any) (any, error) {
			gap := ""
			switch sp := arg(args, 0).(type) {
			case float64:
				n := math.Min(10, math.Trunc(sp))
				if n >= 1 {
					gap = strings.Repeat(" ", int(n))
				}
			case string:
				gap = sp
				if len(gap) > 10 {
					gap = gap[:10]
				}
			}
			s, ok := jsonStringify(v, gap)
			if !ok {
				return Undefined, nil
			}
			return s, nil
		},
		"escape":      escapeFilter,
		"e":           escapeFilter,
		"forceescape": forceEscapeFilter,
		"safe": func(v any, _ ...any) (any, error) {
			if s, ok := v.(*safeString); ok {
				return s, nil
			}
			if isNullish(v) {
				return markSafe(""), nil
			}
			return markSafe(toString(v)), nil
		},
		"first": func(v any, _ ...any) (any, error) {
			if isNullish(v) {
				return nil, typeError("first", v, "an array or a string")
			}
			return memberLookup(v, 0.0), nil
		},
		"last": func(v any, _ ...any) (any, error) {
			if isNullish(v) {
				return nil, typeError("last", v, "an array or a string")
			}
			n, _ := lengthOf(v)
			return memberLookup(v, float64(n-1)), nil
		},
		"groupby": func(v any, args ...any) (any, error) {
			if isNullish(v) {
				return nil, typeError("groupby", v, "an array")
			}
			arr := listOf(v)
			get := attrGetter(arg(args, 0))
			res := newObject(4)
			for _, item := range arr {
				key, err := get(norm(item))
				if err != nil {
					return nil, fmt.Errorf("groupby: %w", err)
				}
				k := toString(key)
				cur, _ := res.vals[k].([]any)
				res.set(k, append(cur, item))
			}
			return res, nil
		},
		"indent": func(v any, args ...any) (any, error) {
			s, err := stringArg("indent", v)
			if err != nil {
				return nil, err
			}
			if plain, ok := normalize(v, "").(string); ok && plain == "" {
				return "", nil
			}
			width := 4.0
			if w := arg(args, 0); truthy(w) {
				width = toNumber(w)
			}
			if width > maxStringBuild {
				return nil, ErrOutputLimit
			}
			sp := spaces(width)
			lines := strings.Split(s, "\n")
			for i := range lines {
				if i > 0 || truthy(arg(args, 1)) {
					lines[i] = sp + lines[i]
				}
			}
			return keepSafeness(v, strings.Join(lines, "\n")), nil
		},
		"int": func(v any, args ...any) (any, error) {
			a := macroArgs(args, []string{"default", "base"})
			base := 10
			if !isUndefined(a[1]) {
				base = int(toIntegerOrInfinity(a[1]))
			}
			res := parseIntPrefix(toString(v), base)
			if math.IsNaN(res) {
				return a[0], nil
			}
			return res, nil
		},
		"float": func(v any, args ...any) (any, error) {
			res := parseFloatPrefix(toString(v))
			if math.IsNaN(res) {
				return arg(args, 0), nil
			}
			return res, nil
		},
		"join": func(v any, args ...any) (any, error) {
			del := ""
			if d := arg(args, 0); truthy(d) {
				del = toString(d)
			}
			arr, ok := norm(v).([]any)
			if attr := arg(args, 1); truthy(attr) {
				// Mapping the attribute first turns anything but an array
				// or a string into an empty list, as lib.map does.
				arr = listOf(v)
				mapped := make([]any, len(arr))
				for i, x := range arr {
					if isNullish(x) {
						return nil, typeError("join", x, "objects")
					}
					mapped[i] = memberLookup(norm(x), attr)
				}
				arr = mapped
			} else if !ok {
				return nil, typeError("join", v, "an array")
			}
			return joinValues(arr, del), nil
		},
		"length": func(v any, _ ...any) (any, error) {
			if s, ok := v.(*safeString); ok {
				return float64(jsLength(s.s)), nil
			}
			val := normalize(v, "")
			if isObject(val) {
				return float64(len(objectKeys(val))), nil
			}
			if n, ok := lengthOf(val); ok {
				return float64(n), nil
			}
			return Undefined, nil
		},
		"list": func(v any, _ ...any) (any, error) {
			switch x := norm(v).(type) {
			case string:
				return stringChars(x), nil
			case []any:
				return x, nil
			}
			if isObject(v) {
				var out []any
				for _, k := range objectKeys(v) {
					val, _ := objectGet(v, k)
					o := newObject(2)
					o.set("key", k)
					o.set("value", val)
					out = append(out, o)
				}
				if out == nil {
					out = []any{}
				}
				return out, nil
			}
			return nil, errors.New("list filter: type not iterable")
		},
		"lower": func(v any, _ ...any) (any, error) {
			s, err := stringArg("lower", v)
			if err != nil {
				return nil, err
			}
			return jsLower(s), nil
		},
		"upper": func(v any, _ ...any) (any, error) {
			s, err := stringArg("upper", v)
			if err != nil {
				return nil, err
			}
			return jsUpper(s), nil
		},
		"nl2br": func(v any, _ ...any) (any, error) {
			if isNullish(v) {
				return "", nil
			}
			// No normalize here: false is an error, as false.replace is.
			s, ok := v.(string)
			if ss, isSafe := v.(*safeString); isSafe {
				s, ok = ss.s, true
			}
			if !ok {
				return nil, typeError("nl2br", v, "a string")
			}
			return keepSafeness(v, strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "<br />\n")), nil
		},
		"random": func(v any, _ ...any) (any, error) {
			if isNullish(v) {
				return nil, typeError("random", v, "an array")
			}
			n, _ := lengthOf(v)
			if n == 0 {
				return Undefined, nil
			}
			rngMu.Lock()
			i := rng.IntN(n)
			rngMu.Unlock()
			return memberLookup(v, float64(i)), nil
		},
		"reject":     selectOrReject(false),
		"select":     selectOrReject(true),
		"rejectattr": attrFilter("rejectattr", false),
		"selectattr": attrFilter("selectattr", true),
		"replace":    replaceFilter,
		"reverse": func(v any, _ ...any) (any, error) {
			if s, ok := norm(v).(string); ok {
				chars := stringChars(s)
				var b strings.Builder
				for i := len(chars) - 1; i >= 0; i-- {
					b.WriteString(chars[i].(string))
				}
				return b.String(), nil
			}
			arr := listOf(v)
			out := make([]any, len(arr))
			for i, x := range arr {
				out[len(arr)-1-i] = x
			}
			return out, nil
		},
		"round": func(v any, args ...any) (any, error) {
			precision := 0.0
			if p := arg(args, 0); truthy(p) {
				precision = toNumber(p)
			}
			factor := jsPow(10, precision)
			x := toNumber(v) * factor
			switch toString(arg(args, 1)) {
			case "ceil":
				x = math.Ceil(x)
			case "floor":
				x = math.Floor(x)
			default:
				x = jsRound(x)
			}
			return x / factor, nil
		},
		"slice": func(v any, args ...any) (any, error) {
			arr, ok := norm(v).([]any)
			str, isStr := norm(v).(string)
			if ss, isSafe := v.(*safeString); isSafe {
				str, isStr = ss.s, true
			}
			if isStr {
				arr = stringChars(str)
			} else if !ok {
				return nil, typeError("slice", v, "an array")
			}
			slices := toNumber(arg(args, 0))
			if math.IsNaN(slices) {
				return []any{}, nil
			}
			if slices > maxRange {
				return nil, fmt.Errorf("%w: slice into %s lists", ErrOutputLimit, toString(arg(args, 0)))
			}
			fill := arg(args, 1)
			n := float64(len(arr))
			sliceLen := math.Floor(n / slices)
			extra := math.Mod(n, slices)
			res := []any{}
			offset := 0.0
			for i := 0.0; i < slices; i++ {
				start := offset + i*sliceLen
				if i < extra {
					offset++
				}
				end := offset + (i+1)*sliceLen
				cur := arrSlice(arr, start, end)
				if isStr {
					// A string's slices are strings, which cannot be filled.
					if truthy(fill) && i >= extra {
						return nil, typeError("slice", v, "an array when a fill value is given")
					}
					var b strings.Builder
					for _, ch := range cur {
						b.WriteString(ch.(string))
					}
					res = append(res, b.String())
					continue
				}
				if truthy(fill) && i >= extra {
					cur = append(cur, fill)
				}
				res = append(res, cur)
			}
			return res, nil
		},
		"sort": func(v any, args ...any) (any, error) {
			a := macroArgs(args, []string{"reverse", "case_sensitive", "attribute"})
			reversed, caseSens, attr := truthy(a[0]), truthy(a[1]), a[2]
			if isNullish(v) {
				return []any{}, nil
			}
			arr := append([]any{}, listOf(v)...)
			get := attrGetter(attr)
			// Sort keys once; JavaScript reads them in the comparator,
			// which runs (and fails on a null item) from two elements on.
			type keyed struct{ item, key any }
			items := make([]keyed, len(arr))
			for i, x := range arr {
				items[i] = keyed{item: x, key: norm(x)}
				if truthy(attr) && len(arr) > 1 {
					k, err := get(norm(x))
					if err != nil {
						return nil, fmt.Errorf("sort: %w", err)
					}
					items[i].key = k
				}
			}
			sort.SliceStable(items, func(i, j int) bool {
				x, y := items[i].key, items[j].key
				xs, xok := x.(string)
				ys, yok := y.(string)
				if !caseSens && xok && yok {
					x, y = jsLower(xs), jsLower(ys)
				}
				c, ok := compareValues(x, y)
				if !ok {
					return false
				}
				if reversed {
					return c > 0
				}
				return c < 0
			})
			for i := range items {
				arr[i] = items[i].item
			}
			return arr, nil
		},
		"string": func(v any, _ ...any) (any, error) {
			if isNullish(v) {
				return nil, typeError("string", v, "a value")
			}
			if s, ok := v.(*safeString); ok {
				return s, nil
			}
			return toString(v), nil
		},
		"striptags": func(v any, args ...any) (any, error) {
			s, err := stringArg("striptags", v)
			if err != nil {
				return nil, err
			}
			s = jsTrim(stripTagsRe.ReplaceAllString(s, ""))
			if truthy(arg(args, 0)) {
				s = lineSpacesRe.ReplaceAllString(s, "")
				s = spacesRe.ReplaceAllString(s, " ")
				s = strings.ReplaceAll(s, "\r\n", "\n")
				s = manyNLRe.ReplaceAllString(s, "\n\n")
				return keepSafeness(v, s), nil
			}
			return keepSafeness(v, spaceRunRe.ReplaceAllString(s, " ")), nil
		},
		"sum": func(v any, args ...any) (any, error) {
			arr, ok := norm(v).([]any)
			if !ok {
				return nil, typeError("sum", v, "an array")
			}
			var start any = 0.0
			if s := arg(args, 1); !isUndefined(s) {
				start = s
			}
			attr := arg(args, 0)
			var acc any = 0.0
			for _, x := range arr {
				x = norm(x)
				if truthy(attr) {
					if isNullish(x) {
						return nil, typeError("sum", x, "objects")
					}
					x = memberLookup(x, attr)
				}
				acc = jsAdd(acc, x)
			}
			return jsAdd(start, acc), nil
		},
		"title": func(v any, _ ...any) (any, error) {
			s, err := stringArg("title", v)
			if err != nil {
				return nil, err
			}
			words := strings.Split(s, " ")
			for i, w := range words {
				words[i] = capitalize(w)
			}
			return keepSafeness(v, strings.Join(words, " ")), nil
		},
		"trim": func(v any, _ ...any) (any, error) {
			if ss, ok := v.(*safeString); ok {
				return markSafe(jsTrim(ss.s)), nil
			}
			s, ok := v.(string)
			if !ok {
				return nil, typeError("trim", v, "a string")
			}
			return jsTrim(s), nil
		},
		"truncate": truncateFilter,
		"urlencode": func(v any, _ ...any) (any, error) {
			if s, ok := v.(string); ok {
				return encodeURIComponent(s), nil
			}
			var parts []string
			if arr, ok := norm(v).([]any); ok {
				for _, kv := range arr {
					kv = norm(kv)
					if isNullish(kv) {
						return nil, typeError("urlencode", kv, "[key, value] pairs")
					}
					parts = append(parts, encodeURIComponent(toString(memberLookup(kv, 0.0)))+"="+encodeURIComponent(toString(memberLookup(kv, 1.0))))
				}
			} else if isObject(v) {
				for _, k := range objectKeys(v) {
					x, _ := objectGet(v, k)
					parts = append(parts, encodeURIComponent(k)+"="+encodeURIComponent(toString(norm(x))))
				}
			}
			return strings.Join(parts, "&"), nil
		},
		"urlize": urlizeFilter,
		"wordcount": func(v any, _ ...any) (any, error) {
			if !truthy(v) {
				return nil, nil
			}
			s, err := stringArg("wordcount", v)
			if err != nil {
				return nil, err
			}
			if s == "" {
				return nil, nil
			}
			m := wordRe.FindAllStringIndex(s, -1)
			if m == nil {
				return nil, nil
			}
			return float64(len(m)), nil
		},
	}
	return f
}

// spaces is Nunjucks' lib.repeat(' ', n): a loop while i < n, so NaN and
// negative counts give "" and fractions round up.
func spaces(n float64) string {
	if !(n > 0) {
		return ""
	}
	return strings.Repeat(" ", int(math.Ceil(n)))
}

func arrSlice(arr []any, start, end float64) []any {
	n := float64(len(arr))
	start = math.Max(0, math.Min(start, n))
	end = math.Max(0, math.Min(end, n))
	if start >= end {
		return []any{}
	}
	return append([]any{}, arr[int(start):int(end)]...)
}

func capitalize(s string) string {
	low := jsLower(s)
	if low == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(low)
	if r >= 0x10000 {
		// JavaScript upper-cases only the first UTF-16 unit, half of this
		// character, which leaves it unchanged.
		return low
	}
	return jsUpper(low[:size]) + low[size:]
}

func defaultFilter(v any, args ...any) (any, error) {
	def := arg(args, 0)
	if truthy(arg(args, 1)) {
		if truthy(v) {
			return v, nil
		}
		return def, nil
	}
	if !isUndefined(v) {
		return v, nil
	}
	return def, nil
}

func selectOrReject(want bool) Filter {
	return func(v any, args ...any) (any, error) {
		name := "truthy"
		if t := arg(args, 0); !isUndefined(t) {
			name = toString(t)
		}
		test, ok := tests[name]
		if !ok {
			return nil, fmt.Errorf("test not found: %s", name)
		}
		if isNullish(v) {
			return nil, typeError("select/reject", v, "an array")
		}
		out := []any{}
		for _, item := range listOf(v) {
			res, err := test(norm(item), arg(args, 1))
			if err != nil {
				return nil, err
			}
			if res == want {
				out = append(out, item)
			}
		}
		return out, nil
	}
}

func attrFilter(name string, want bool) Filter {
	return func(v any, args ...any) (any, error) {
		arr, ok := norm(v).([]any)
		if !ok {
			return nil, typeError(name, v, "an array")
		}
		out := []any{}
		for _, item := range arr {
			item = norm(item)
			if isNullish(item) {
				return nil, typeError(name, item, "objects")
			}
			if truthy(memberLookup(item, arg(args, 0))) == want {
				out = append(out, item)
			}
		}
		return out, nil
	}
}

func replaceFilter(v any, args ...any) (any, error) {
	old, repl := arg(args, 0), arg(args, 1)
	if re, ok := old.(*jsRegexp); ok {
		s, isStr := v.(string)
		if ss, isSafe := v.(*safeString); isSafe {
			s, isStr = ss.s, true
		}
		if !isStr {
			return nil, typeError("replace", v, "a string")
		}
		return jsReplace(s, re, repl, false)
	}
	maxCount := -1.0
	if m := arg(args, 2); !isUndefined(m) {
		maxCount = toNumber(m)
	}
	var oldStr string
	switch o := old.(type) {
	case float64:
		oldStr = formatNumber(o)
	case string:
		oldStr = o
	default:
		return v, nil
	}
	var s string
	switch x := v.(type) {
	case float64:
		s = formatNumber(x)
	case string:
		s = x
	case *safeString:
		s = x.s
	default:
		return v, nil
	}
	newStr := toString(repl)
	if oldStr == "" {
		chars := stringChars(s)
		parts := make([]string, len(chars))
		for i, c := range chars {
			parts[i] = c.(string)
		}
		out := newStr + strings.Join(parts, newStr) + newStr
		return keepSafeness(v, out), nil
	}
	next := strings.Index(s, oldStr)
	if maxCount == 0 || next < 0 {
		if _, ok := v.(*safeString); ok {
			return v, nil
		}
		return s, nil
	}
	var b strings.Builder
	pos, count := 0, 0.0
	for next > -1 && (maxCount == -1 || count < maxCount) {
		b.WriteString(s[pos:next])
		b.WriteString(newStr)
		pos = next + len(oldStr)
		count++
		if b.Len() > maxStringBuild {
			return nil, ErrOutputLimit
		}
		i := strings.Index(s[pos:], oldStr)
		if i < 0 {
			next = -1
		} else {
			next = pos + i
		}
	}
	b.WriteString(s[pos:])
	return keepSafeness(v, b.String()), nil
}

func truncateFilter(v any, args ...any) (any, error) {
	length := 255.0
	if l := arg(args, 0); truthy(l) {
		length = toNumber(l)
	}
	// Anything short enough comes back as it is (an array too); only
	// strings can be cut.
	val := normalize(v, "")
	if n, ok := lengthOf(val); ok && float64(n) <= length {
		return val, nil
	}
	s, err := stringArg("truncate", v)
	if err != nil {
		return nil, err
	}
	n := jsLength(s)
	cut := int(math.Max(0, math.Min(length, float64(n))))
	if math.IsNaN(length) {
		cut = 0
	}
	if truthy(arg(args, 1)) {
		s = jsSubstring(s, 0, cut)
	} else {
		idx := jsLastIndexOf(s, " ", cut)
		if idx == -1 {
			idx = cut
		}
		s = jsSubstring(s, 0, idx)
	}
	end := arg(args, 2)
	if isNullish(end) {
		return keepSafeness(v, s+"..."), nil
	}
	return keepSafeness(v, s+toString(end)), nil
}

// splitKeepingSpace is str.split(/(\s+)/): words and the white space
// between them.
func splitKeepingSpace(s string) []string {
	var out []string
	last := 0
	for _, m := range wsSplitRe.FindAllStringIndex(s, -1) {
		out = append(out, s[last:m[0]], s[m[0]:m[1]])
		last = m[1]
	}
	return append(out, s[last:])
}

func urlizeFilter(v any, args ...any) (any, error) {
	s, ok := v.(string)
	if ss, isSafe := v.(*safeString); isSafe {
		s, ok = ss.s, true
	}
	if !ok {
		return nil, typeError("urlize", v, "a string")
	}
	length, limit := arg(args, 0), -1
	if f, isNum := length.(float64); isNum && !math.IsNaN(f) {
		limit = int(math.Max(0, f))
	}
	noFollow := ""
	if b, isBool := arg(args, 1).(bool); isBool && b {
		noFollow = ` rel="nofollow"`
	}
	var b strings.Builder
	for _, word := range splitKeepingSpace(s) {
		if word == "" {
			continue
		}
		possible := word
		if m := puncRe.FindStringSubmatch(word); m != nil {
			possible = m[1]
		}
		short := possible
		if limit >= 0 && limit < jsLength(possible) {
			short = jsSubstring(possible, 0, limit)
		}
		switch {
		case httpRe.MatchString(possible):
			fmt.Fprintf(&b, `<a href="%s"%s>%s</a>`, possible, noFollow, short)
		case wwwRe.MatchString(possible):
			fmt.Fprintf(&b, `<a href="http://%s"%s>%s</a>`, possible, noFollow, short)
		case emailRe.MatchString(possible):
			fmt.Fprintf(&b, `<a href="mailto:%s">%s</a>`, possible, possible)
		case tldRe.MatchString(possible):
			fmt.Fprintf(&b, `<a href="http://%s"%s>%s</a>`, possible, noFollow, short)
		default:
			b.WriteString(word)
		}
	}
	return b.String(), nil
}

// testFunc is an `is` test.
type testFunc func(v, arg any) (bool, error)

// tests are Nunjucks' built-in tests (`x is defined`, `n is odd`, …).
var tests = map[string]testFunc{
	"callable":    func(v, _ any) (bool, error) { _, ok := v.(Func); return ok, nil },
	"defined":     func(v, _ any) (bool, error) { return !isUndefined(v), nil },
	"undefined":   func(v, _ any) (bool, error) { return isUndefined(v), nil },
	"null":        func(v, _ any) (bool, error) { return v == nil, nil },
	"divisibleby": func(v, a any) (bool, error) { return math.Mod(toNumber(v), toNumber(a)) == 0, nil },
	"escaped":     func(v, _ any) (bool, error) { _, ok := v.(*safeString); return ok, nil },
	"equalto":     func(v, a any) (bool, error) { return strictEquals(v, a), nil },
	"eq":          func(v, a any) (bool, error) { return strictEquals(v, a), nil },
	"sameas":      func(v, a any) (bool, error) { return strictEquals(v, a), nil },
	"ne":          func(v, a any) (bool, error) { return !strictEquals(v, a), nil },
	"even":        func(v, _ any) (bool, error) { return math.Mod(toNumber(v), 2) == 0, nil },
	"odd":         func(v, _ any) (bool, error) { return math.Mod(toNumber(v), 2) == 1, nil },
	"falsy":       func(v, _ any) (bool, error) { return !truthy(v), nil },
	"truthy":      func(v, _ any) (bool, error) { return truthy(v), nil },
	"ge":          func(v, a any) (bool, error) { return compareOp(">=", v, a), nil },
	"gt":          func(v, a any) (bool, error) { return compareOp(">", v, a), nil },
	"greaterthan": func(v, a any) (bool, error) { return compareOp(">", v, a), nil },
	"le":          func(v, a any) (bool, error) { return compareOp("<=", v, a), nil },
	"lt":          func(v, a any) (bool, error) { return compareOp("<", v, a), nil },
	"lessthan":    func(v, a any) (bool, error) { return compareOp("<", v, a), nil },
	"number":      func(v, _ any) (bool, error) { _, ok := asNumber(v); return ok, nil },
	"string":      func(v, _ any) (bool, error) { _, ok := v.(string); return ok, nil },
	"lower": func(v, _ any) (bool, error) {
		if _, ok := v.(*safeString); ok {
			return false, nil // an object is never === its lower-cased string
		}
		s, ok := v.(string)
		if !ok {
			return false, typeError("the lower test", v, "a string")
		}
		return jsLower(s) == s, nil
	},
	"upper": func(v, _ any) (bool, error) {
		if _, ok := v.(*safeString); ok {
			return false, nil
		}
		s, ok := v.(string)
		if !ok {
			return false, typeError("the upper test", v, "a string")
		}
		return jsUpper(s) == s, nil
	},
	"iterable": func(v, _ any) (bool, error) {
		if isNullish(v) {
			return false, typeError("the iterable test", v, "a value")
		}
		switch v.(type) {
		case []any, string, *safeString:
			return true, nil
		}
		return false, nil
	},
	"mapping": func(v, _ any) (bool, error) { return isObject(v) || isRegexp(v), nil },
}

func isRegexp(v any) bool { _, ok := v.(*jsRegexp); return ok }

// builtinGlobals returns the functions every template can call.
func builtinGlobals() map[string]any {
	return map[string]any{
		"range": Func(func(args ...any) (any, error) {
			start, stop, step := toNumber(arg(args, 0)), toNumber(arg(args, 1)), toNumber(arg(args, 2))
			if isUndefined(arg(args, 1)) {
				start, stop, step = 0, toNumber(arg(args, 0)), 1
			} else if !truthy(arg(args, 2)) {
				step = 1
			}
			out := []any{}
			if step > 0 {
				for i := start; i < stop; i += step {
					if len(out) >= maxRange {
						return nil, fmt.Errorf("%w: range() of more than %d numbers", ErrOutputLimit, maxRange)
					}
					out = append(out, i)
				}
			} else {
				for i := start; i > stop; i += step {
					if len(out) >= maxRange {
						return nil, fmt.Errorf("%w: range() of more than %d numbers", ErrOutputLimit, maxRange)
					}
					out = append(out, i)
				}
			}
			return out, nil
		}),
		"cycler": Func(func(args ...any) (any, error) {
			items := append([]any{}, args...)
			idx := -1
			o := newObject(3)
			o.set("current", nil)
			o.set("next", Func(func(...any) (any, error) {
				idx++
				if idx >= len(items) {
					idx = 0
				}
				var cur any = Undefined
				if idx < len(items) {
					cur = items[idx]
				}
				o.set("current", cur)
				return cur, nil
			}))
			o.set("reset", Func(func(...any) (any, error) {
				idx = -1
				o.set("current", nil)
				return Undefined, nil
			}))
			return o, nil
		}),
		"joiner": Func(func(args ...any) (any, error) {
			sep := ","
			if s := arg(args, 0); truthy(s) {
				sep = toString(s)
			}
			first := true
			return Func(func(...any) (any, error) {
				if first {
					first = false
					return "", nil
				}
				return sep, nil
			}), nil
		}),
	}
}

// maxRange bounds range() so a template cannot allocate without limit.
const maxRange = 1_000_000
