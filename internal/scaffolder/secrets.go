package scaffolder

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/seal"
	"github.com/portico-dev/portico/internal/store"
)

// sealer keeps task secrets encrypted at rest (see package seal).
type sealer struct{ s *seal.Sealer }

// newSealer uses the configured key, or a random key kept in
// scaffolder_keys and shared by every replica.
func newSealer(ctx context.Context, db *store.DB, configured string) (*sealer, error) {
	s, err := seal.New(ctx, db, "scaffolder_keys", "secrets", configured)
	if err != nil {
		return nil, fmt.Errorf("scaffolder secrets key (scaffolder.secretsKey): %w", err)
	}
	return &sealer{s: s}, nil
}

// seal encrypts secrets; nil or empty secrets are stored as NULL.
func (s *sealer) seal(secrets map[string]string) (*string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	out, err := s.s.Seal(plain)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// open decrypts what seal stored.
func (s *sealer) open(sealed *string) (map[string]string, error) {
	if sealed == nil || *sealed == "" {
		return nil, nil
	}
	plain, err := s.s.Open(*sealed)
	if err != nil {
		return nil, fmt.Errorf("task secrets: %w (was scaffolder.secretsKey changed?)", err)
	}
	var out map[string]string
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// redactor replaces secret values in text with "***".
type redactor struct{ replacer *strings.Replacer }

func newRedactor(secretSets ...map[string]string) *redactor {
	var values []string
	for _, set := range secretSets {
		for _, v := range set {
			if len(v) >= 1 && strings.TrimSpace(v) != "" {
				values = append(values, v)
			}
		}
	}
	if len(values) == 0 {
		return &redactor{}
	}
	// Longer values first, so a secret containing another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		pairs = append(pairs, v, "***")
	}
	return &redactor{replacer: strings.NewReplacer(pairs...)}
}

func (r *redactor) String(s string) string {
	if r == nil || r.replacer == nil {
		return s
	}
	return r.replacer.Replace(s)
}

// Value redacts every string inside a JSON-like value.
func (r *redactor) Value(v any) any {
	if r == nil || r.replacer == nil {
		return v
	}
	switch t := v.(type) {
	case string:
		return r.replacer.Replace(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = r.Value(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = r.Value(x)
		}
		return out
	}
	return v
}
