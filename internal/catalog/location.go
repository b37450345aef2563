package catalog

import (
	"regexp"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// LocationSpec says where entities come from: a type such as "url" or
// "file" and a target in that type's terms.
type LocationSpec struct {
	Type   string `json:"type" yaml:"type"`
	Target string `json:"target" yaml:"target"`
	// Presence is "required" (the default) or "optional": an optional
	// location that does not exist is not an error.
	Presence string `json:"presence,omitempty" yaml:"presence,omitempty"`
}

// String returns the location reference form, <type>:<target>.
func (l LocationSpec) String() string { return l.Type + ":" + l.Target }

// javascriptURL matches javascript: targets even when control characters
// or whitespace are mixed in to slip past a plain prefix check.
var javascriptURL = regexp.MustCompile(`(?i)^[\x00-\x20]*j[\r\n\t]*a[\r\n\t]*v[\r\n\t]*a[\r\n\t]*s[\r\n\t]*c[\r\n\t]*r[\r\n\t]*i[\r\n\t]*p[\r\n\t]*t[\r\n\t]*:`)

// ParseLocationRef parses a location reference <type>:<target>, as found in
// the backstage.io/managed-by-location annotation.
func ParseLocationRef(ref string) (LocationSpec, error) {
	typ, target, ok := strings.Cut(ref, ":")
	typ, target = strings.TrimSpace(typ), strings.TrimSpace(target)
	if !ok || typ == "" || target == "" {
		return LocationSpec{}, errs.InputErrorf("location reference %q is not on the form <type>:<target>", ref)
	}
	if typ == "http" || typ == "https" {
		return LocationSpec{}, errs.InputErrorf("location reference %q has type %s; please prefix it with 'url:', as in url:%s", ref, typ, ref)
	}
	if javascriptURL.MatchString(target) {
		return LocationSpec{}, errs.InputErrorf("location reference %q has a javascript: target, which is not allowed", ref)
	}
	return LocationSpec{Type: typ, Target: target}, nil
}
