package nunjucks

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// memberLookup is `obj.key` / `obj[key]` with JavaScript semantics: a
// property of undefined or null is undefined (not an error), strings and
// arrays have `length`, indices and the common methods.
func memberLookup(obj, key any) any {
	switch o := obj.(type) {
	case nil, undefinedType:
		return Undefined
	case []any:
		if f, ok := key.(float64); ok {
			if f >= 0 && f < float64(len(o)) && f == math.Trunc(f) {
				return norm(o[int(f)])
			}
			return Undefined
		}
		k := propertyKey(key)
		if isArrayIndex(k) {
			i, _ := strconv.Atoi(k)
			if i < len(o) {
				return norm(o[i])
			}
			return Undefined
		}
		if k == "length" {
			return float64(len(o))
		}
		return arrayMethod(o, k)
	case string:
		k := propertyKey(key)
		if k == "length" {
			return float64(jsLength(o))
		}
		if isArrayIndex(k) {
			i, _ := strconv.Atoi(k)
			if i < jsLength(o) {
				return jsCharAt(o, i)
			}
			return Undefined
		}
		return stringMethod(o, k)
	case *safeString:
		k := propertyKey(key)
		if v, ok := objectGet(o, k); ok {
			return v
		}
		switch k {
		case "toString", "valueOf":
			return Func(func(...any) (any, error) { return o.s, nil })
		}
		if isArrayIndex(k) {
			return Undefined
		}
		return stringMethod(o.s, k)
	case *object, map[string]any, Kwargs:
		k := propertyKey(key)
		if v, ok := objectGet(o, k); ok {
			return norm(v)
		}
		// The methods every object inherits from Object.prototype.
		switch k {
		case "toString", "toLocaleString":
			return Func(func(...any) (any, error) { return "[object Object]", nil })
		case "valueOf":
			return Func(func(...any) (any, error) { return o, nil })
		case "hasOwnProperty":
			return Func(func(args ...any) (any, error) {
				_, ok := objectGet(o, propertyKey(arg(args, 0)))
				return ok, nil
			})
		}
		return Undefined
	case float64:
		return numberMethod(o, propertyKey(key))
	case int:
		return numberMethod(float64(o), propertyKey(key))
	case bool:
		if propertyKey(key) == "toString" {
			return Func(func(...any) (any, error) { return toString(o), nil })
		}
		return Undefined
	case *jsRegexp:
		switch propertyKey(key) {
		case "source":
			return o.source
		case "flags":
			return o.flags
		case "global":
			return o.global
		case "test":
			return Func(func(args ...any) (any, error) {
				return o.re.MatchString(toString(arg(args, 0))), nil
			})
		}
		return Undefined
	case Func:
		return Undefined
	}
	return memberLookup(fromGo(obj), key)
}

// arg returns args[i], or undefined when absent.
func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return Undefined
}

// toIntegerOrInfinity is the argument conversion of slice, substring and
// friends: NaN becomes 0, fractions are truncated.
func toIntegerOrInfinity(v any) float64 {
	f := toNumber(v)
	if math.IsNaN(f) {
		return 0
	}
	return math.Trunc(f)
}

// relativeIndex resolves a slice-style index (negative counts from the end)
// into [0, n].
func relativeIndex(v any, n int, def int) int {
	if isUndefined(v) {
		return def
	}
	f := toIntegerOrInfinity(v)
	if f < 0 {
		f += float64(n)
		if f < 0 {
			f = 0
		}
	}
	if f > float64(n) {
		f = float64(n)
	}
	return int(f)
}

func clampIndex(v any, n int, def int) int {
	if isUndefined(v) {
		return def
	}
	f := toIntegerOrInfinity(v)
	if f < 0 {
		f = 0
	}
	if f > float64(n) {
		f = float64(n)
	}
	return int(f)
}

func stringMethod(s, name string) any {
	var f Func
	switch name {
	case "toUpperCase", "toLocaleUpperCase":
		f = func(...any) (any, error) { return jsUpper(s), nil }
	case "toLowerCase", "toLocaleLowerCase":
		f = func(...any) (any, error) { return jsLower(s), nil }
	case "trim":
		f = func(...any) (any, error) { return jsTrim(s), nil }
	case "trimStart", "trimLeft":
		f = func(...any) (any, error) { return jsTrimLeft(s), nil }
	case "trimEnd", "trimRight":
		f = func(...any) (any, error) { return jsTrimRight(s), nil }
	case "toString", "valueOf":
		f = func(...any) (any, error) { return s, nil }
	case "split":
		f = func(args ...any) (any, error) { return jsSplit(s, arg(args, 0), arg(args, 1)), nil }
	case "replace":
		f = func(args ...any) (any, error) { return jsReplace(s, arg(args, 0), arg(args, 1), false) }
	case "replaceAll":
		f = func(args ...any) (any, error) { return jsReplace(s, arg(args, 0), arg(args, 1), true) }
	case "startsWith":
		f = func(args ...any) (any, error) {
			n := jsLength(s)
			p := clampIndex(arg(args, 1), n, 0)
			return strings.HasPrefix(jsSubstring(s, p, n), toString(arg(args, 0))), nil
		}
	case "endsWith":
		f = func(args ...any) (any, error) {
			n := jsLength(s)
			e := clampIndex(arg(args, 1), n, n)
			return strings.HasSuffix(jsSubstring(s, 0, e), toString(arg(args, 0))), nil
		}
	case "includes":
		f = func(args ...any) (any, error) {
			return jsIndexOf(s, toString(arg(args, 0)), clampIndex(arg(args, 1), jsLength(s), 0)) >= 0, nil
		}
	case "indexOf":
		f = func(args ...any) (any, error) {
			return float64(jsIndexOf(s, toString(arg(args, 0)), clampIndex(arg(args, 1), jsLength(s), 0))), nil
		}
	case "lastIndexOf":
		f = func(args ...any) (any, error) {
			from := jsLength(s)
			if a := arg(args, 1); !isUndefined(a) && !math.IsNaN(toNumber(a)) {
				from = clampIndex(a, jsLength(s), from)
			}
			return float64(jsLastIndexOf(s, toString(arg(args, 0)), from)), nil
		}
	case "slice":
		f = func(args ...any) (any, error) {
			n := jsLength(s)
			a, b := relativeIndex(arg(args, 0), n, 0), relativeIndex(arg(args, 1), n, n)
			if a >= b {
				return "", nil
			}
			return jsSubstring(s, a, b), nil
		}
	case "substring":
		f = func(args ...any) (any, error) {
			n := jsLength(s)
			a, b := clampIndex(arg(args, 0), n, 0), clampIndex(arg(args, 1), n, n)
			if a > b {
				a, b = b, a
			}
			return jsSubstring(s, a, b), nil
		}
	case "substr":
		f = func(args ...any) (any, error) {
			n := jsLength(s)
			a := relativeIndex(arg(args, 0), n, 0)
			l := n - a
			if c := arg(args, 1); !isUndefined(c) {
				l = int(math.Min(math.Max(toIntegerOrInfinity(c), 0), float64(n-a)))
			}
			if l <= 0 {
				return "", nil
			}
			return jsSubstring(s, a, a+l), nil
		}
	case "charAt":
		f = func(args ...any) (any, error) {
			i := toIntegerOrInfinity(arg(args, 0))
			if i < 0 || i >= float64(jsLength(s)) {
				return "", nil
			}
			return jsCharAt(s, int(i)), nil
		}
	case "at":
		f = func(args ...any) (any, error) {
			n := jsLength(s)
			i := toIntegerOrInfinity(arg(args, 0))
			if i < 0 {
				i += float64(n)
			}
			if i < 0 || i >= float64(n) {
				return Undefined, nil
			}
			return jsCharAt(s, int(i)), nil
		}
	case "concat":
		f = func(args ...any) (any, error) {
			var b strings.Builder
			b.WriteString(s)
			for _, a := range args {
				b.WriteString(toString(a))
			}
			return b.String(), nil
		}
	case "repeat":
		f = func(args ...any) (any, error) {
			n := toIntegerOrInfinity(arg(args, 0))
			if n < 0 || math.IsInf(n, 0) {
				return nil, errors.New("RangeError: Invalid count value: " + toString(arg(args, 0)))
			}
			if s == "" {
				return "", nil
			}
			if float64(len(s))*n > maxStringBuild {
				return nil, ErrOutputLimit
			}
			return strings.Repeat(s, int(n)), nil
		}
	case "padStart", "padEnd":
		f = func(args ...any) (any, error) {
			target := toIntegerOrInfinity(arg(args, 0))
			fill := " "
			if a := arg(args, 1); !isUndefined(a) {
				fill = toString(a)
			}
			n := jsLength(s)
			if target <= float64(n) || fill == "" {
				return s, nil
			}
			if target > maxStringBuild {
				return nil, ErrOutputLimit
			}
			need := int(target) - n
			fu := toUTF16(fill)
			pad := make([]uint16, 0, need)
			for len(pad) < need {
				pad = append(pad, fu[:min(len(fu), need-len(pad))]...)
			}
			if name == "padStart" {
				return fromUTF16(pad) + s, nil
			}
			return s + fromUTF16(pad), nil
		}
	case "match":
		f = func(args ...any) (any, error) {
			re, ok := arg(args, 0).(*jsRegexp)
			if !ok {
				var err error
				if re, err = compileJSRegexp(regexpQuoteIfString(arg(args, 0)), ""); err != nil {
					return nil, err
				}
			}
			if re.global {
				m := re.re.FindAllString(s, -1)
				if m == nil {
					return nil, nil
				}
				out := make([]any, len(m))
				for i, x := range m {
					out[i] = x
				}
				return out, nil
			}
			m := re.re.FindStringSubmatch(s)
			if m == nil {
				return nil, nil
			}
			out := make([]any, len(m))
			for i, x := range m {
				out[i] = x
			}
			return out, nil
		}
	case "localeCompare":
		f = func(args ...any) (any, error) { return float64(compareUTF16(s, toString(arg(args, 0)))), nil }
	default:
		return Undefined
	}
	return f
}

// regexpQuoteIfString turns a string argument of match() into a pattern
// (JavaScript compiles it as a regular expression too).
func regexpQuoteIfString(v any) string {
	if isUndefined(v) {
		return ""
	}
	return toString(v)
}

// maxStringBuild bounds strings built by repeat/pad before the renderer's
// own output cap sees them.
const maxStringBuild = 64 << 20

// jsSplit is String.prototype.split.
func jsSplit(s string, sep, limit any) []any {
	lim := -1
	if !isUndefined(limit) {
		lim = int(uint32(toIntegerOrInfinity(limit)))
	}
	var parts []string
	switch sp := sep.(type) {
	case undefinedType:
		parts = []string{s}
	case *jsRegexp:
		parts = sp.re.Split(s, -1)
	default:
		str := toString(sep)
		if str == "" {
			for _, c := range stringChars(s) {
				parts = append(parts, c.(string))
			}
		} else {
			parts = strings.Split(s, str)
		}
	}
	if lim >= 0 && lim < len(parts) {
		parts = parts[:lim]
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// jsReplace is String.prototype.replace / replaceAll with a string
// replacement ($&, $1, $$ … are expanded as JavaScript does).
func jsReplace(s string, pattern, replacement any, all bool) (any, error) {
	rep := toString(replacement)
	if re, ok := pattern.(*jsRegexp); ok {
		var b strings.Builder
		last := 0
		matches := re.re.FindAllStringSubmatchIndex(s, -1)
		if !re.global && !all && len(matches) > 1 {
			matches = matches[:1]
		}
		for _, m := range matches {
			b.WriteString(s[last:m[0]])
			groups := make([]string, 0, len(m)/2)
			for g := 0; g+1 < len(m); g += 2 {
				if m[g] < 0 {
					groups = append(groups, "")
				} else {
					groups = append(groups, s[m[g]:m[g+1]])
				}
			}
			expandReplacement(&b, rep, groups, s[:m[0]], s[m[1]:])
			last = m[1]
		}
		b.WriteString(s[last:])
		return b.String(), nil
	}
	pat := toString(pattern)
	var b strings.Builder
	last := 0
	for {
		i := strings.Index(s[last:], pat)
		if i < 0 {
			break
		}
		i += last
		b.WriteString(s[last:i])
		expandReplacement(&b, rep, []string{pat}, s[:i], s[i+len(pat):])
		last = i + len(pat)
		if !all {
			break
		}
		if pat == "" {
			if last >= len(s) {
				break
			}
			// Step over one character so an empty pattern matches between
			// every pair of characters.
			_, size := utf8.DecodeRuneInString(s[last:])
			b.WriteString(s[last : last+size])
			last += size
			if last == len(s) {
				expandReplacement(&b, rep, []string{pat}, s, "")
				return b.String(), nil
			}
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func expandReplacement(b *strings.Builder, rep string, groups []string, before, after string) {
	if !strings.Contains(rep, "$") {
		b.WriteString(rep)
		return
	}
	for i := 0; i < len(rep); i++ {
		c := rep[i]
		if c != '$' || i+1 == len(rep) {
			b.WriteByte(c)
			continue
		}
		n := rep[i+1]
		switch {
		case n == '$':
			b.WriteByte('$')
			i++
		case n == '&':
			b.WriteString(groups[0])
			i++
		case n == '`':
			b.WriteString(before)
			i++
		case n == '\'':
			b.WriteString(after)
			i++
		case n >= '0' && n <= '9':
			idx := int(n - '0')
			width := 1
			if i+2 < len(rep) && rep[i+2] >= '0' && rep[i+2] <= '9' {
				if two := idx*10 + int(rep[i+2]-'0'); two > 0 && two < len(groups) {
					idx, width = two, 2
				}
			}
			if idx > 0 && idx < len(groups) {
				b.WriteString(groups[idx])
				i += width
			} else {
				b.WriteByte('$')
			}
		default:
			b.WriteByte('$')
		}
	}
}

func arrayMethod(a []any, name string) any {
	var f Func
	switch name {
	case "join":
		f = func(args ...any) (any, error) {
			sep := ","
			if s := arg(args, 0); !isUndefined(s) {
				sep = toString(s)
			}
			return joinValues(a, sep), nil
		}
	case "toString":
		f = func(...any) (any, error) { return toString(a), nil }
	case "slice":
		f = func(args ...any) (any, error) {
			n := len(a)
			x, y := relativeIndex(arg(args, 0), n, 0), relativeIndex(arg(args, 1), n, n)
			if x >= y {
				return []any{}, nil
			}
			out := make([]any, y-x)
			copy(out, a[x:y])
			return out, nil
		}
	case "indexOf", "includes", "lastIndexOf":
		f = func(args ...any) (any, error) {
			needle := arg(args, 0)
			idx := -1
			if name == "lastIndexOf" {
				for i := len(a) - 1; i >= 0; i-- {
					if strictEquals(norm(a[i]), needle) {
						idx = i
						break
					}
				}
			} else {
				for i := clampIndex(relativeIndexArg(arg(args, 1), len(a)), len(a), 0); i < len(a); i++ {
					e := norm(a[i])
					if strictEquals(e, needle) || (name == "includes" && isNaNValue(e) && isNaNValue(needle)) {
						idx = i
						break
					}
				}
			}
			if name == "includes" {
				return idx >= 0, nil
			}
			return float64(idx), nil
		}
	case "concat":
		f = func(args ...any) (any, error) {
			out := append([]any{}, a...)
			for _, x := range args {
				if arr, ok := x.([]any); ok {
					out = append(out, arr...)
				} else {
					out = append(out, x)
				}
			}
			return out, nil
		}
	case "at":
		f = func(args ...any) (any, error) {
			i := toIntegerOrInfinity(arg(args, 0))
			if i < 0 {
				i += float64(len(a))
			}
			if i < 0 || i >= float64(len(a)) {
				return Undefined, nil
			}
			return norm(a[int(i)]), nil
		}
	default:
		return Undefined
	}
	return f
}

// relativeIndexArg resolves a negative fromIndex of indexOf/includes.
func relativeIndexArg(v any, n int) any {
	if isUndefined(v) {
		return 0.0
	}
	f := toIntegerOrInfinity(v)
	if f < 0 {
		f += float64(n)
	}
	return f
}

func isNaNValue(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}

func joinValues(a []any, sep string) string {
	var b strings.Builder
	for i, e := range a {
		if i > 0 {
			b.WriteString(sep)
		}
		if b.Len() > maxPrintBytes {
			panic(errValueTooLarge) // see writeArrayString
		}
		if !isNullish(e) {
			b.WriteString(toString(e))
		}
	}
	return b.String()
}

// toFixed is Number.prototype.toFixed: the exact decimal value of f
// rounded to d digits, halves away from zero (strconv rounds exact halves
// to even: 2.5 would give "2" where JavaScript gives "3").
func toFixed(f float64, d int) string {
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	exact := new(big.Float).SetFloat64(f).Text('f', 1100)
	intPart, frac, _ := strings.Cut(exact, ".")
	frac += strings.Repeat("0", d+1)
	digits := []byte(intPart + frac[:d])
	if frac[d] >= '5' {
		i := len(digits) - 1
		for ; i >= 0; i-- {
			if digits[i] == '9' {
				digits[i] = '0'
				continue
			}
			digits[i]++
			break
		}
		if i < 0 {
			digits = append([]byte{'1'}, digits...)
		}
	}
	n := len(digits) - d
	out := string(digits[:n])
	if d > 0 {
		out += "." + string(digits[n:])
	}
	// The sign stays even when the value rounds to zero:
	// (-0.0001).toFixed(2) is "-0.00".
	return sign + out
}

func numberMethod(f float64, name string) any {
	switch name {
	case "toString":
		return Func(func(args ...any) (any, error) {
			radix := arg(args, 0)
			if isUndefined(radix) || toNumber(radix) == 10 {
				return formatNumber(f), nil
			}
			r := int(toIntegerOrInfinity(radix))
			if r < 2 || r > 36 {
				return nil, errors.New("RangeError: toString() radix must be between 2 and 36")
			}
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return strconv.FormatInt(int64(f), r), nil
			}
			return formatNumber(f), nil
		})
	case "toFixed":
		return Func(func(args ...any) (any, error) {
			d := toIntegerOrInfinity(arg(args, 0))
			if d < 0 || d > 100 {
				return nil, errors.New("RangeError: toFixed() digits argument must be between 0 and 100")
			}
			if math.Abs(f) >= 1e21 || math.IsNaN(f) || math.IsInf(f, 0) {
				return formatNumber(f), nil
			}
			return toFixed(f, int(d)), nil
		})
	}
	return Undefined
}
