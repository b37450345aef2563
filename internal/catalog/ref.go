package catalog

import (
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// DefaultNamespace is the namespace of entities and references that name none.
const DefaultNamespace = "default"

// Ref identifies an entity by kind, namespace and name. The parts keep the
// case they were written in; String gives the lower-case form used for
// storage and comparison.
type Ref struct {
	Kind      string
	Namespace string
	Name      string
}

// RefDefaults supplies the parts a reference may leave out. The kind has no
// default of its own: a reference without a kind is an error unless Kind is
// set. An empty Namespace means DefaultNamespace.
type RefDefaults struct {
	Kind      string
	Namespace string
}

// ParseRef parses a reference of the form [<kind>:][<namespace>/]<name>, as
// Backstage's parseEntityRef does: a colon after the first slash does not
// start a kind, and the name is everything after the kind and namespace, so
// it may itself contain ':' or '/'. Missing parts are taken from defaults.
func ParseRef(s string, defaults RefDefaults) (Ref, error) {
	if s == "" {
		return Ref{}, errs.InputErrorf("entity reference must not be empty")
	}
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	if slash != -1 && slash < colon {
		colon = -1
	}
	var r Ref
	hasKind, hasNS := colon != -1, slash != -1
	if hasKind {
		r.Kind = s[:colon]
	}
	if hasNS {
		r.Namespace = s[colon+1 : slash]
	}
	r.Name = s[max(colon+1, slash+1):]
	if (hasKind && r.Kind == "") || (hasNS && r.Namespace == "") || r.Name == "" {
		return Ref{}, errs.InputErrorf("entity reference %q is not on the form [<kind>:][<namespace>/]<name>", s)
	}
	if !hasKind {
		if defaults.Kind == "" {
			return Ref{}, errs.InputErrorf("entity reference %q has no kind: write it as <kind>:[<namespace>/]<name>, e.g. \"component:%s\"", s, s)
		}
		r.Kind = defaults.Kind
	}
	if !hasNS {
		r.Namespace = defaults.Namespace
		if r.Namespace == "" {
			r.Namespace = DefaultNamespace
		}
	}
	return r, nil
}

// String returns the canonical, lower-case form kind:namespace/name under
// which entities are stored and looked up.
func (r Ref) String() string {
	return strings.ToLower(r.Kind) + ":" + strings.ToLower(r.Namespace) + "/" + strings.ToLower(r.Name)
}

// Equal reports whether r and o name the same entity; like Backstage,
// references compare case-insensitively.
func (r Ref) Equal(o Ref) bool {
	return strings.EqualFold(r.Kind, o.Kind) &&
		strings.EqualFold(r.Namespace, o.Namespace) &&
		strings.EqualFold(r.Name, o.Name)
}
