package catalog

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Validator checks one kind of field value. What names the kind of value in
// messages ("name", "label key") and Rule says how a valid one looks, so an
// error reads `metadata.name: "Bad Name!" is not a valid name: <Rule>`.
type Validator struct {
	Valid func(string) bool
	What  string
	Rule  string
}

// Validators are the field-format rules of the FieldFormatPolicy, one per
// field kind, as Backstage's makeValidator provides them. DefaultValidators
// gives Backstage's rules; NewValidators applies configured overrides.
type Validators struct {
	APIVersion      Validator
	Kind            Validator
	EntityName      Validator
	Namespace       Validator
	LabelKey        Validator
	LabelValue      Validator
	AnnotationKey   Validator
	AnnotationValue Validator
	Tag             Validator
}

// ValidationConfig overrides field-format rules; it is the
// `catalog.validation` section of the configuration. Unset rules keep
// Backstage's defaults.
type ValidationConfig struct {
	APIVersion      *RuleConfig `yaml:"apiVersion"`
	Kind            *RuleConfig `yaml:"kind"`
	EntityName      *RuleConfig `yaml:"entityName"`
	Namespace       *RuleConfig `yaml:"namespace"`
	LabelKey        *RuleConfig `yaml:"labelKey"`
	LabelValue      *RuleConfig `yaml:"labelValue"`
	AnnotationKey   *RuleConfig `yaml:"annotationKey"`
	AnnotationValue *RuleConfig `yaml:"annotationValue"`
	Tag             *RuleConfig `yaml:"tag"`
}

// RuleConfig replaces one field-format rule. A value is valid when it
// matches Pattern as a whole (the pattern is anchored for you) and its
// length in characters lies within MinLength and MaxLength (0 means no
// bound). Message, if set, is the rule shown in errors.
type RuleConfig struct {
	Pattern   string `yaml:"pattern"`
	MinLength int    `yaml:"minLength"`
	MaxLength int    `yaml:"maxLength"`
	Message   string `yaml:"message"`
}

// Rule texts of the default validators.
const (
	ruleObjectName = "use 1–63 characters [a-zA-Z0-9] separated by [-_.]"
	rulePrefixed   = "use [<prefix>/]<name> where the prefix is a DNS subdomain (labels of [a-z0-9] separated by [-], joined by dots, at most 253 characters) and the name is 1–63 characters [a-zA-Z0-9] separated by [-_.]"
)

// DefaultValidators returns Backstage's default field-format rules.
func DefaultValidators() Validators {
	return Validators{
		APIVersion: Validator{Valid: isValidAPIVersion, What: "apiVersion",
			Rule: "use [<prefix>/]<version> where the prefix is a DNS subdomain (labels of [a-z0-9] separated by [-], joined by dots) and the version is 1–63 characters [a-zA-Z0-9]"},
		Kind: Validator{Valid: isValidKind, What: "kind",
			Rule: "use 1–63 characters [a-zA-Z0-9] starting with a letter"},
		EntityName: Validator{Valid: isValidObjectName, What: "name", Rule: ruleObjectName},
		Namespace: Validator{Valid: isValidDNSLabel, What: "namespace",
			Rule: "use 1–63 characters [a-z0-9] separated by single [-]"},
		LabelKey: Validator{Valid: isValidPrefixedName, What: "label key", Rule: rulePrefixed},
		LabelValue: Validator{Valid: func(s string) bool { return s == "" || isValidObjectName(s) }, What: "label value",
			Rule: "use an empty string or 1–63 characters [a-zA-Z0-9] separated by [-_.]"},
		AnnotationKey:   Validator{Valid: isValidPrefixedName, What: "annotation key", Rule: rulePrefixed},
		AnnotationValue: Validator{Valid: func(string) bool { return true }, What: "annotation value", Rule: "any string"},
		Tag: Validator{Valid: isValidTag, What: "tag",
			Rule: "use 1–63 characters [a-z0-9:+#] separated by single [-]"},
	}
}

// NewValidators returns the default validators with cfg's overrides applied.
func NewValidators(cfg ValidationConfig) (Validators, error) {
	v := DefaultValidators()
	for _, o := range []struct {
		name string
		rule *RuleConfig
		dst  *Validator
	}{
		{"apiVersion", cfg.APIVersion, &v.APIVersion},
		{"kind", cfg.Kind, &v.Kind},
		{"entityName", cfg.EntityName, &v.EntityName},
		{"namespace", cfg.Namespace, &v.Namespace},
		{"labelKey", cfg.LabelKey, &v.LabelKey},
		{"labelValue", cfg.LabelValue, &v.LabelValue},
		{"annotationKey", cfg.AnnotationKey, &v.AnnotationKey},
		{"annotationValue", cfg.AnnotationValue, &v.AnnotationValue},
		{"tag", cfg.Tag, &v.Tag},
	} {
		if o.rule == nil {
			continue
		}
		valid, rule, err := o.rule.compile()
		if err != nil {
			return Validators{}, fmt.Errorf("catalog.validation.%s: %w", o.name, err)
		}
		o.dst.Valid, o.dst.Rule = valid, rule
	}
	return v, nil
}

func (c *RuleConfig) compile() (func(string) bool, string, error) {
	if c.MinLength < 0 || c.MaxLength < 0 || (c.MaxLength > 0 && c.MinLength > c.MaxLength) {
		return nil, "", fmt.Errorf("minLength %d and maxLength %d do not form a range", c.MinLength, c.MaxLength)
	}
	var re *regexp.Regexp
	if c.Pattern != "" {
		var err error
		if re, err = regexp.Compile(`^(?:` + c.Pattern + `)$`); err != nil {
			return nil, "", fmt.Errorf("pattern: %w", err)
		}
	}
	minLen, maxLen := c.MinLength, c.MaxLength
	valid := func(s string) bool {
		n := utf8.RuneCountInString(s)
		if n < minLen || (maxLen > 0 && n > maxLen) {
			return false
		}
		return re == nil || re.MatchString(s)
	}
	rule := c.Message
	if rule == "" {
		var parts []string
		if c.Pattern != "" {
			parts = append(parts, "match "+strconv.Quote(c.Pattern))
		}
		switch {
		case minLen > 0 && maxLen > 0:
			parts = append(parts, fmt.Sprintf("use %d–%d characters", minLen, maxLen))
		case minLen > 0:
			parts = append(parts, fmt.Sprintf("use at least %d characters", minLen))
		case maxLen > 0:
			parts = append(parts, fmt.Sprintf("use at most %d characters", maxLen))
		}
		rule = strings.Join(parts, " and ")
		if rule == "" {
			rule = "any string"
		}
	}
	return valid, rule, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isLowerAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// isValidObjectName: 1–63 characters, [a-zA-Z0-9] at both ends, [-_.] or
// [a-zA-Z0-9] between (separators may repeat).
func isValidObjectName(s string) bool {
	if len(s) < 1 || len(s) > 63 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isValidDNSLabel: 1–63 characters of [a-z0-9] groups joined by single '-'.
func isValidDNSLabel(s string) bool {
	return isSeparated(s, isLowerAlnum)
}

// isValidTag: like a DNS label but ':', '+' and '#' count as letters.
func isValidTag(s string) bool {
	return isSeparated(s, func(c byte) bool { return isLowerAlnum(c) || c == ':' || c == '+' || c == '#' })
}

func isSeparated(s string, ok func(byte) bool) bool {
	if len(s) < 1 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			if s[i-1] == '-' {
				return false
			}
			continue
		}
		if !ok(c) {
			return false
		}
	}
	return true
}

func isValidDNSSubdomain(s string) bool {
	if len(s) < 1 || len(s) > 253 {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if !isValidDNSLabel(part) {
			return false
		}
	}
	return true
}

// splitPrefix splits value into at most two parts on '/'; ok is false for
// more than one '/'.
func splitPrefix(s string) (prefix, rest string, hasPrefix, ok bool) {
	i := strings.IndexByte(s, '/')
	if i == -1 {
		return "", s, false, true
	}
	if strings.IndexByte(s[i+1:], '/') != -1 {
		return "", "", false, false
	}
	return s[:i], s[i+1:], true, true
}

func isValidAPIVersion(s string) bool {
	prefix, suffix, hasPrefix, ok := splitPrefix(s)
	if !ok || (hasPrefix && !isValidDNSSubdomain(prefix)) {
		return false
	}
	if len(suffix) < 1 || len(suffix) > 63 {
		return false
	}
	for i := 0; i < len(suffix); i++ {
		if !isAlnum(suffix[i]) {
			return false
		}
	}
	return true
}

func isValidKind(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

func isValidPrefixedName(s string) bool {
	prefix, name, hasPrefix, ok := splitPrefix(s)
	if !ok || (hasPrefix && !isValidDNSSubdomain(prefix)) {
		return false
	}
	return isValidObjectName(name)
}

// isValidURL approximates the WHATWG URL parser that Backstage uses
// (`new URL(value)`): the value must be absolute, and URLs of the special
// schemes other than file need a host.
func isValidURL(s string) bool {
	s = strings.Trim(s, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	colon := strings.IndexByte(s, ':')
	if colon < 1 {
		return false
	}
	scheme := s[:colon]
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "ws", "wss", "ftp":
	default:
		return true
	}
	// Special schemes: the WHATWG parser treats backslashes as slashes and
	// ignores any number of them before the host.
	rest := strings.TrimLeft(strings.ReplaceAll(s[colon+1:], `\`, "/"), "/")
	u, err := url.Parse(strings.ToLower(scheme) + "://" + escapeForParse(rest))
	if err != nil || u.Hostname() == "" {
		return false
	}
	if strings.ContainsAny(u.Hostname(), " #%/:<>?@[\\]^|") && !strings.HasPrefix(u.Host, "[") {
		return false
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n > 65535 {
			return false
		}
	}
	return true
}

// escapeForParse percent-encodes the characters that the WHATWG parser
// encodes silently in paths and queries but net/url rejects.
func escapeForParse(s string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22", "<", "%3C", ">", "%3E", "`", "%60", "{", "%7B", "}", "%7D", "|", "%7C", "^", "%5E").Replace(s)
}
