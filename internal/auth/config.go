package auth

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/config"
)

// BackendConfig is the backend.auth section.
type BackendConfig struct {
	ExternalAccess []ExternalAccess `yaml:"externalAccess"`
	// Keys is Backstage's deprecated form of legacy shared secrets.
	Keys []struct {
		Secret string `yaml:"secret"`
	} `yaml:"keys"`
	// DangerouslyDisableDefaultAuthPolicy lets unauthenticated requests
	// reach every plugin route, as in Backstage.
	DangerouslyDisableDefaultAuthPolicy bool `yaml:"dangerouslyDisableDefaultAuthPolicy"`
}

// ExternalAccess is one backend.auth.externalAccess entry.
type ExternalAccess struct {
	Type               string                    `yaml:"type"`
	Options            ExternalAccessOptions     `yaml:"options"`
	AccessRestrictions []AccessRestrictionConfig `yaml:"accessRestrictions"`
}

// ExternalAccessOptions holds the options of the static and legacy types.
type ExternalAccessOptions struct {
	Token   string `yaml:"token"`
	Secret  string `yaml:"secret"`
	Subject string `yaml:"subject"`
}

// AccessRestrictionConfig is one accessRestrictions entry.
type AccessRestrictionConfig struct {
	Plugin              string     `yaml:"plugin"`
	Permission          StringList `yaml:"permission"`
	PermissionAttribute struct {
		Action StringList `yaml:"action"`
	} `yaml:"permissionAttribute"`
}

// StringList is a list of strings that config may give as a list or as one
// string separated by spaces or commas.
type StringList []string

// UnmarshalConfig accepts both forms.
func (s *StringList) UnmarshalConfig(v config.Value) error {
	var raw []string
	if v.IsString() {
		var one string
		if err := v.Decode(&one); err != nil {
			return err
		}
		raw = []string{one}
	} else if err := v.Decode(&raw); err != nil {
		return err
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range raw {
		for _, f := range strings.FieldsFunc(r, func(c rune) bool { return c == ' ' || c == ',' }) {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	*s = out
	return nil
}

// SignInConfig is the top-level auth section.
type SignInConfig struct {
	Providers struct {
		Guest *GuestConfig `yaml:"guest"`
		// OIDC holds the oidc provider's environments (development,
		// production, …); a sign-in names one with ?env=.
		OIDC map[string]OIDCConfig `yaml:"oidc"`
		// GitHub and GitLab hold those providers' environments.
		GitHub map[string]GitHubSignInConfig `yaml:"github"`
		GitLab map[string]GitLabSignInConfig `yaml:"gitlab"`
	} `yaml:"providers"`
	// BackstageTokenExpiration is the lifetime of issued user tokens
	// (default one hour, at most 24 hours, as in Backstage).
	BackstageTokenExpiration time.Duration `yaml:"backstageTokenExpiration"`
	// Environment names the providers' environment the web app signs in
	// with (auth.providers.<id>.<environment>), as in Backstage.
	Environment string `yaml:"environment"`
	Session     struct {
		Secret string `yaml:"secret"`
	} `yaml:"session"`
}

// GuestConfig is auth.providers.guest.
type GuestConfig struct {
	// UserEntityRef is who guests are (default user:development/guest).
	UserEntityRef string `yaml:"userEntityRef"`
	// OwnershipEntityRefs default to the user ref.
	OwnershipEntityRefs []string `yaml:"ownershipEntityRefs"`
	// DangerouslyAllowOutsideDevelopment enables the provider outside the
	// development setup.
	DangerouslyAllowOutsideDevelopment bool `yaml:"dangerouslyAllowOutsideDevelopment"`
	// AllowUnauthenticated makes requests without a token act as the guest
	// user. Portico's development setup turns it on so that curl and the UI
	// work without signing in.
	AllowUnauthenticated bool `yaml:"allowUnauthenticated"`
}

var nonSpace = regexp.MustCompile(`^\S+$`)

// validate checks an externalAccess entry as Backstage does.
func (e ExternalAccess) validate(i int) error {
	at := fmt.Sprintf("backend.auth.externalAccess[%d]", i)
	switch e.Type {
	case "static":
		if !nonSpace.MatchString(e.Options.Token) {
			return fmt.Errorf("%s.options.token: illegal token, must be a set of non-space characters", at)
		}
		if len(e.Options.Token) < 8 {
			return fmt.Errorf("%s.options.token: illegal token, must be at least 8 characters long", at)
		}
		if !nonSpace.MatchString(e.Options.Subject) {
			return fmt.Errorf("%s.options.subject: illegal subject, must be a set of non-space characters", at)
		}
	case "legacy":
		if !nonSpace.MatchString(e.Options.Secret) {
			return fmt.Errorf("%s.options.secret: illegal secret, must be a valid base64 string", at)
		}
		if !nonSpace.MatchString(e.Options.Subject) {
			return fmt.Errorf("%s.options.subject: illegal subject, must be a set of non-space characters", at)
		}
	case "jwks":
		return fmt.Errorf("%s.type: 'jwks' external access is not supported yet; use 'static' or 'legacy'", at)
	default:
		return fmt.Errorf("%s.type: unknown type '%s', expected one of 'static', 'legacy'", at, e.Type)
	}
	seen := map[string]bool{}
	for j, r := range e.AccessRestrictions {
		if r.Plugin == "" {
			return fmt.Errorf("%s.accessRestrictions[%d].plugin: missing; name the plugin the token may call", at, j)
		}
		if seen[r.Plugin] {
			return fmt.Errorf("%s.accessRestrictions: attempted to declare 'accessRestrictions' twice for plugin '%s', which is not permitted", at, r.Plugin)
		}
		seen[r.Plugin] = true
		for _, a := range r.PermissionAttribute.Action {
			switch a {
			case "create", "read", "update", "delete":
			default:
				return fmt.Errorf("%s.accessRestrictions[%d].permissionAttribute.action: invalid value '%s', valid values are 'create', 'read', 'update', 'delete'", at, j, a)
			}
		}
	}
	return nil
}
