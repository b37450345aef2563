package app

import (
	"net/http"
	"time"

	"github.com/portico-dev/portico/internal/integrations"
)

// integrationsOf returns the source-control integrations of the
// configuration (integrations.github, integrations.gitlab), built once and
// shared by the catalog (url locations) and the scaffolder (fetch:*,
// publish:github), so both read with the same hosts and tokens.
func integrationsOf(env *Env) (*integrations.Set, error) {
	if env.Integrations != nil {
		return env.Integrations, nil
	}
	var cfg integrations.Config
	if err := env.Config.Decode("integrations", &cfg); err != nil {
		return nil, err
	}
	// A whole repository's archive may take a while; a stuck host must
	// not hold a read for ever.
	set, err := integrations.New(cfg, &http.Client{Timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	env.Integrations = set
	return set, nil
}
