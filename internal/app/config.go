package app

import (
	_ "embed"

	"github.com/portico-dev/portico/internal/config"
)

//go:embed defaults.yaml
var defaultsYAML []byte

//go:embed development.yaml
var developmentYAML []byte

// knownSections are the top-level config keys Portico reads or accepts from
// Backstage configs; anything else is warned about.
var knownSections = []string{
	"app", "backend", "auth", "catalog", "scaffolder", "orchestrator", "notifications",
	"integrations", "organization", "permission", "signals", "events",
}

// LoadConfig reads the configuration files over the built-in defaults. With
// no files it is the development setup.
func LoadConfig(files []string) (*config.Config, error) {
	docs := []config.Document{{Name: "built-in defaults", Data: defaultsYAML}}
	if len(files) == 0 {
		docs = append(docs, config.Document{Name: "development setup", Data: developmentYAML})
	}
	cfg, err := config.Load(config.Options{Files: files, Defaults: docs})
	if err != nil {
		return nil, err
	}
	cfg.CheckTopLevel(knownSections)
	return cfg, nil
}

// AppConfig is the app section.
type AppConfig struct {
	Title   string `yaml:"title"`
	BaseURL string `yaml:"baseUrl"`
	// Support and other frontend keys are accepted for Backstage configs.
	Support any `yaml:"support"`
}
