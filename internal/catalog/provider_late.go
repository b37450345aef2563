package catalog

// AddProvider registers an entity provider after New, for plugins
// initialised after the catalog (the orchestrator publishes its workflows
// as entities). It must be called before Run, which connects the
// providers.
func (s *Service) AddProvider(p EntityProvider) { s.providers = append(s.providers, p) }
