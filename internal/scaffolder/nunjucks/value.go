package nunjucks

import (
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// undefinedType is the type of Undefined.
type undefinedType struct{}

// Undefined is JavaScript's undefined: the value of a missing variable or
// property. It prints as the empty string and is distinct from nil (null).
var Undefined = undefinedType{}

// Kwargs holds the keyword arguments of a call (`f(a, key=value)`). It is
// passed as the last argument to filters and functions, as Nunjucks does.
type Kwargs map[string]any

// Func is a function callable from templates (a global such as `range`, or a
// method of a string or an array).
type Func func(args ...any) (any, error)

// object is an object created by a template (a dict literal, `loop`, the
// result of `groupby`): unlike a Go map it keeps JavaScript's property order.
type object struct {
	keys []string
	vals map[string]any
}

func newObject(n int) *object {
	return &object{keys: make([]string, 0, n), vals: make(map[string]any, n)}
}

func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// safeString is Nunjucks' SafeString, what escape, safe and macros
// return: an object wrapping a string. It prints as the string, but it is
// always truthy, is not a string to `is string`, serializes as
// {"val": …, "length": …} and has no indexed characters.
type safeString struct{ s string }

func markSafe(s string) *safeString { return &safeString{s: s} }

// keepSafeness is Nunjucks' copySafeness: a filter's result is safe when
// its input was.
func keepSafeness(orig any, result string) any {
	if _, ok := orig.(*safeString); ok {
		return markSafe(result)
	}
	return result
}

// jsRegexp is a regular expression literal (`r/ab+c/gi`).
type jsRegexp struct {
	source, flags string
	re            *regexp.Regexp
	global        bool
}

// isArrayIndex reports whether k is a canonical array index ("0", "17"),
// which JavaScript orders before every other property name.
func isArrayIndex(k string) bool {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	n, err := strconv.ParseUint(k, 10, 64)
	return err == nil && n < 1<<32-1
}

// orderKeys puts keys in JavaScript property order: array indices
// ascending, then the others in their given order.
func orderKeys(keys []string) []string {
	hasIndex := false
	for _, k := range keys {
		if isArrayIndex(k) {
			hasIndex = true
			break
		}
	}
	if !hasIndex {
		return keys
	}
	out := make([]string, 0, len(keys))
	var idx []string
	for _, k := range keys {
		if isArrayIndex(k) {
			idx = append(idx, k)
		}
	}
	sort.Slice(idx, func(i, j int) bool {
		a, _ := strconv.ParseUint(idx[i], 10, 64)
		b, _ := strconv.ParseUint(idx[j], 10, 64)
		return a < b
	})
	out = append(out, idx...)
	for _, k := range keys {
		if !isArrayIndex(k) {
			out = append(out, k)
		}
	}
	return out
}

// objectKeys returns the own property names of an object in JavaScript
// order. A Go map has no insertion order, so its keys are sorted, which is
// the order a JSON document produced by encoding/json would have.
func objectKeys(v any) []string {
	switch o := v.(type) {
	case *object:
		return orderKeys(o.keys)
	case *safeString:
		return []string{"val", "length"}
	case map[string]any:
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return orderKeys(keys)
	case Kwargs:
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return orderKeys(keys)
	}
	return nil
}

// objectGet returns an own property of an object.
func objectGet(v any, k string) (any, bool) {
	switch o := v.(type) {
	case *safeString:
		switch k {
		case "val":
			return o.s, true
		case "length":
			return float64(jsLength(o.s)), true
		}
		return nil, false
	case *object:
		x, ok := o.vals[k]
		return x, ok
	case map[string]any:
		x, ok := o[k]
		return fromGo(x), ok
	case Kwargs:
		x, ok := o[k]
		return x, ok
	}
	return nil, false
}

func isObject(v any) bool {
	switch v.(type) {
	case *object, map[string]any, Kwargs, *safeString:
		return true
	}
	return false
}

// fromGo converts Go values that are not one of the engine's own kinds
// (for example []string, map[string]string, int64, a struct) into them, so
// callers may pass ordinary Go data.
func fromGo(v any) any {
	switch x := v.(type) {
	case nil, undefinedType, string, bool, float64, int, []any, map[string]any, *object, Kwargs, Func, *jsRegexp, *safeString:
		return v
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case uint:
		return float64(x)
	case uint64:
		return float64(x)
	case uint32:
		return float64(x)
	case float32:
		return float64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out
	case func(args ...any) (any, error):
		return Func(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = fromGo(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return Undefined
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[it.Key().String()] = fromGo(it.Value().Interface())
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return fromGo(rv.Elem().Interface())
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	}
	return Undefined
}

// toGo converts an engine value into plain JSON-like Go values
// (map[string]any, []any, string, float64, bool, nil): what RenderValue
// returns. Values JSON cannot hold (undefined, functions, NaN) become nil.
func toGo(v any) any {
	switch x := v.(type) {
	case undefinedType, Func, *jsRegexp:
		return nil
	case *safeString:
		return x.s
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case int:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toGo(e)
		}
		return out
	case *object:
		out := make(map[string]any, len(x.keys))
		for _, k := range x.keys {
			if !isUndefined(x.vals[k]) {
				out[k] = toGo(x.vals[k])
			}
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toGo(fromGo(e))
		}
		return out
	case Kwargs:
		return toGo(map[string]any(x))
	case nil, string, bool:
		return x
	}
	return toGo(fromGo(v))
}

func isNullish(v any) bool {
	switch v.(type) {
	case nil, undefinedType:
		return true
	}
	return false
}

func isUndefined(v any) bool {
	_, ok := v.(undefinedType)
	return ok
}

// truthy is JavaScript's ToBoolean: false, 0, NaN, "", null and undefined
// are false; every object and array (even empty) is true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefinedType:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0 && !math.IsNaN(x)
	case int:
		return x != 0
	}
	return true
}

// asNumber reports the number held by v without conversion.
func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// toPrimitive is JavaScript's ToPrimitive for the values templates see:
// arrays become their joined string, objects "[object Object]".
func toPrimitive(v any) any {
	switch x := v.(type) {
	case []any, *object, map[string]any, Kwargs, Func, *jsRegexp:
		return toString(v)
	case *safeString:
		return x.s
	}
	return v
}

// toNumber is JavaScript's ToNumber.
func toNumber(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case nil:
		return 0
	case undefinedType:
		return math.NaN()
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		return stringToNumber(x)
	}
	p := toPrimitive(v)
	if s, ok := p.(string); ok {
		return stringToNumber(s)
	}
	return math.NaN()
}

// jsSpace reports whether r is white space or a line terminator as
// JavaScript's \s and String.prototype.trim see them.
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func jsTrim(s string) string      { return strings.TrimFunc(s, jsSpace) }
func jsTrimLeft(s string) string  { return strings.TrimLeftFunc(s, jsSpace) }
func jsTrimRight(s string) string { return strings.TrimRightFunc(s, jsSpace) }

// stringToNumber is JavaScript's StringToNumber: a whole decimal literal
// (or 0x/0o/0b integer, or Infinity) after trimming, "" is 0, else NaN.
func stringToNumber(s string) float64 {
	s = jsTrim(s)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			n, err := strconv.ParseUint(s[2:], base, 64)
			if err != nil || strings.Contains(s, "_") {
				return math.NaN()
			}
			return float64(n)
		}
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if body == "Infinity" {
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if !isDecimalLiteral(body) {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Out of range values still parse to ±Inf, which is what JS does.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f
		}
		return math.NaN()
	}
	return f
}

// isDecimalLiteral checks digits [. digits] [e[+-]digits] with at least one
// digit in the mantissa.
func isDecimalLiteral(s string) bool {
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// parseFloatPrefix is JavaScript's parseFloat: the longest numeric prefix.
func parseFloatPrefix(s string) float64 {
	s = jsTrimLeft(s)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if strings.HasPrefix(s[i:], "Infinity") {
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	start := i
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			digits++
		}
		i = j
	}
	if digits == 0 {
		return math.NaN()
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	_ = start
	f, err := strconv.ParseFloat(strings.TrimSuffix(s[:i], "."), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f
		}
		return math.NaN()
	}
	return f
}

// parseIntPrefix is JavaScript's parseInt(string, radix).
func parseIntPrefix(s string, radix int) float64 {
	s = jsTrimLeft(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if radix == 0 {
		radix = 10
		if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
			radix = 16
			s = s[2:]
		}
	} else if radix == 16 && len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if radix < 2 || radix > 36 {
		return math.NaN()
	}
	var n float64
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'z':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'Z':
			d = int(c-'A') + 10
		default:
			d = 99
		}
		if d >= radix {
			break
		}
		n = n*float64(radix) + float64(d)
		digits++
	}
	if digits == 0 {
		return math.NaN()
	}
	if neg {
		n = -n
	}
	return n
}

// formatNumber is JavaScript's Number.prototype.toString(): shortest
// round-trip digits, exponent form below 1e-6 and from 1e21.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddddde±xx
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	k := len(digits)
	n := exp + 1
	var b strings.Builder
	b.WriteString(sign)
	switch {
	case k <= n && n <= 21:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", n-k))
	case 0 < n && n <= 21:
		b.WriteString(digits[:n])
		b.WriteByte('.')
		b.WriteString(digits[n:])
	case -6 < n && n <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -n))
		b.WriteString(digits)
	default:
		b.WriteByte(digits[0])
		if k > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if n-1 >= 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(n - 1))
	}
	return b.String()
}

// toString is JavaScript's ToString (String(v)).
func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return formatNumber(x)
	case int:
		return strconv.Itoa(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return "null"
	case undefinedType:
		return "undefined"
	case []any:
		var b strings.Builder
		writeArrayString(&b, x)
		return b.String()
	case *object, map[string]any, Kwargs:
		return "[object Object]"
	case *safeString:
		return x.s
	case Func:
		return "function () { [native code] }"
	case *jsRegexp:
		return "/" + x.source + "/" + x.flags
	}
	return toString(fromGo(v))
}

// writeArrayString writes Array.prototype.toString's result into b.
func writeArrayString(b *strings.Builder, x []any) {
	for i, e := range x {
		if i > 0 {
			b.WriteByte(',')
		}
		if b.Len() > maxPrintBytes {
			// Arrays can share themselves ([a, a] doubled in a loop), so
			// printing one may grow exponentially; Render turns this panic
			// into ErrOutputLimit.
			panic(errValueTooLarge)
		}
		switch y := e.(type) {
		case nil, undefinedType:
		case []any:
			writeArrayString(b, y)
		default:
			b.WriteString(toString(e))
		}
	}
}

// maxPrintBytes bounds the text of one printed or dumped value.
const maxPrintBytes = 16 << 20

// outputString is how `${{ value }}` prints: null and undefined print
// nothing, everything else as ToString.
func outputString(v any) string {
	if isNullish(v) {
		return ""
	}
	return toString(v)
}

// sameRef reports whether two reference values (arrays, objects) are the
// same JavaScript object.
func sameRef(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) || cap(x) != cap(y) {
			return false
		}
		if len(x) == 0 {
			// Empty slices without a backing array cannot be told apart;
			// treating them as distinct makes `x == []` false, as in
			// JavaScript.
			return cap(x) > 0 && &x[:1][0] == &y[:1][0]
		}
		return &x[0] == &y[0]
	case *object:
		y, ok := b.(*object)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case *jsRegexp:
		y, ok := b.(*jsRegexp)
		return ok && x == y
	case *safeString:
		y, ok := b.(*safeString)
		return ok && x == y
	}
	return false
}

func isRef(v any) bool {
	switch v.(type) {
	case []any, *object, map[string]any, Kwargs, Func, *jsRegexp, *safeString:
		return true
	}
	return false
}

// strictEquals is JavaScript's ===.
func strictEquals(a, b any) bool {
	if an, ok := asNumber(a); ok {
		bn, ok := asNumber(b)
		return ok && an == bn
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case undefinedType:
		return isUndefined(b)
	}
	return sameRef(a, b)
}

// looseEquals is JavaScript's ==.
func looseEquals(a, b any) bool {
	if isNullish(a) || isNullish(b) {
		return isNullish(a) && isNullish(b)
	}
	if isRef(a) && isRef(b) {
		return sameRef(a, b)
	}
	if isRef(a) {
		a = toPrimitive(a)
	}
	if isRef(b) {
		b = toPrimitive(b)
	}
	if _, ok := a.(bool); ok {
		a = toNumber(a)
	}
	if _, ok := b.(bool); ok {
		b = toNumber(b)
	}
	as, aStr := a.(string)
	bs, bStr := b.(string)
	if aStr && bStr {
		return as == bs
	}
	return toNumber(a) == toNumber(b)
}

// compareValues is JavaScript's abstract relational comparison. It returns
// -1, 0 or 1, and ok=false when the values are unordered (NaN involved).
func compareValues(a, b any) (int, bool) {
	pa, pb := toPrimitive(a), toPrimitive(b)
	as, aStr := pa.(string)
	bs, bStr := pb.(string)
	if aStr && bStr {
		return compareUTF16(as, bs), true
	}
	x, y := toNumber(pa), toNumber(pb)
	if math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// compareUTF16 orders strings by UTF-16 code units, as JavaScript does.
func compareUTF16(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return strings.Compare(a, b)
	}
	ua, ub := toUTF16(a), toUTF16(b)
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			if ua[i] < ub[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(ua) < len(ub):
		return -1
	case len(ua) > len(ub):
		return 1
	}
	return 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func toUTF16(s string) []uint16 { return utf16.Encode([]rune(s)) }

func fromUTF16(u []uint16) string { return string(utf16.Decode(u)) }

// jsLength is a string's length in UTF-16 code units.
func jsLength(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// jsSubstring returns code units [start, end) of s.
func jsSubstring(s string, start, end int) string {
	if isASCII(s) {
		return s[start:end]
	}
	return fromUTF16(toUTF16(s)[start:end])
}

// jsCharAt returns the code unit at i as a string.
func jsCharAt(s string, i int) string {
	if isASCII(s) {
		return s[i : i+1]
	}
	return fromUTF16(toUTF16(s)[i : i+1])
}

// jsIndexOf is String.prototype.indexOf in code units.
func jsIndexOf(s, sub string, from int) int {
	n := jsLength(s)
	if from < 0 {
		from = 0
	}
	if from > n {
		from = n
	}
	if isASCII(s) {
		i := strings.Index(s[from:], sub)
		if i < 0 {
			return -1
		}
		return i + from
	}
	us, ub := toUTF16(s), toUTF16(sub)
	for i := from; i+len(ub) <= len(us); i++ {
		match := true
		for j := range ub {
			if us[i+j] != ub[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

// jsLastIndexOf is String.prototype.lastIndexOf(sub, from).
func jsLastIndexOf(s, sub string, from int) int {
	us, ub := toUTF16(s), toUTF16(sub)
	start := len(us) - len(ub)
	if from < start {
		start = from
	}
	for i := start; i >= 0; i-- {
		match := true
		for j := range ub {
			if us[i+j] != ub[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

// jsonQuote quotes s as JSON.stringify does (no HTML escaping, non-ASCII
// kept as is).
func jsonQuote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[r>>4])
				b.WriteByte("0123456789abcdef"[r&0xf])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// jsonStringify is JSON.stringify(v, null, gap). ok is false when the
// result is undefined (v is undefined or a function).
func jsonStringify(v any, gap string) (string, bool) {
	var b strings.Builder
	if !writeJSON(&b, v, gap, "", 0) {
		return "", false
	}
	return b.String(), true
}

func writeJSON(b *strings.Builder, v any, gap, indent string, depth int) bool {
	if depth > 1000 {
		b.WriteString("null")
		return true
	}
	if b.Len() > maxPrintBytes {
		panic(errValueTooLarge) // see writeArrayString
	}
	switch x := v.(type) {
	case undefinedType, Func:
		return false
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b.WriteString("null")
		} else {
			b.WriteString(formatNumber(x))
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case string:
		jsonQuote(b, x)
	case *jsRegexp:
		b.WriteString("{}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return true
		}
		inner := indent + gap
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if gap != "" {
				b.WriteByte('\n')
				b.WriteString(inner)
			}
			if !writeJSON(b, e, gap, inner, depth+1) {
				b.WriteString("null")
			}
		}
		if gap != "" {
			b.WriteByte('\n')
			b.WriteString(indent)
		}
		b.WriteByte(']')
	case *object, map[string]any, Kwargs, *safeString:
		inner := indent + gap
		wrote := false
		b.WriteByte('{')
		for _, k := range objectKeys(x) {
			e, _ := objectGet(x, k)
			switch e.(type) {
			case undefinedType, Func:
				continue
			}
			if wrote {
				b.WriteByte(',')
			}
			wrote = true
			if gap != "" {
				b.WriteByte('\n')
				b.WriteString(inner)
			}
			jsonQuote(b, k)
			b.WriteByte(':')
			if gap != "" {
				b.WriteByte(' ')
			}
			writeJSON(b, e, gap, inner, depth+1)
		}
		if wrote && gap != "" {
			b.WriteByte('\n')
			b.WriteString(indent)
		}
		b.WriteByte('}')
	default:
		return writeJSON(b, fromGo(v), gap, indent, depth)
	}
	return true
}

// propertyKey is JavaScript's ToPropertyKey for an index expression.
func propertyKey(v any) string {
	return toString(v)
}

// NewObject returns an object whose properties keep the given order, for
// filters whose results are printed with `dump` (JSON.stringify keeps
// insertion order; a Go map would sort). Keys missing from values are
// skipped, as JavaScript drops undefined properties when serializing.
func NewObject(keys []string, values map[string]any) any {
	o := newObject(len(keys))
	for _, k := range keys {
		if v, ok := values[k]; ok {
			o.set(k, fromGo(v))
		}
	}
	return o
}

// ToGo converts a value a filter receives (which may be an object built by
// the template, or Undefined) into plain JSON-like Go values:
// map[string]any, []any, string, float64, bool or nil.
func ToGo(v any) any { return toGo(v) }

// IsUndefined reports whether v is JavaScript's undefined (a missing
// variable or property), as opposed to null (nil).
func IsUndefined(v any) bool { return isUndefined(v) }

// jsUpper is String.prototype.toUpperCase: full Unicode case mapping
// (ß becomes SS), which strings.ToUpper does not do.
func jsUpper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	return cases.Upper(language.Und).String(s)
}

// jsLower is String.prototype.toLowerCase.
func jsLower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	return cases.Lower(language.Und).String(s)
}
