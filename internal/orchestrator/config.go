package orchestrator

import "time"

// Config is the orchestrator section of app-config.yaml.
type Config struct {
	// Workflows lists directories of workflow files (each with its specs/,
	// schemas/ and application.properties beside it). "embedded:<dir>"
	// names a directory of the examples built into the binary.
	Workflows []string `yaml:"workflows"`
	// Properties override every workflow's application.properties.
	Properties map[string]string `yaml:"properties"`
	RuntimeAPI RuntimeAPIConfig  `yaml:"runtimeApi"`
	Eventing   EventingConfig    `yaml:"eventing"`
	// LeaseDuration is how long an instance stays with a replica that
	// stopped sending heartbeats (default 30s).
	LeaseDuration time.Duration `yaml:"leaseDuration"`
	// PollInterval is how often each replica looks for due timers and
	// deliverable events scheduled elsewhere (default 50ms).
	PollInterval time.Duration `yaml:"pollInterval"`
	// ReloadInterval is how often workflow files are checked for changes
	// (default 1s; negative turns hot reload off).
	ReloadInterval time.Duration `yaml:"reloadInterval"`

	// SecretsKey seals the request headers an instance started with
	// (tokens it forwards) in the journal. When empty, a random key is
	// generated once and kept in the database for every replica; only a
	// configured key protects against a copy of the database.
	SecretsKey string `yaml:"secretsKey"`

	// ServiceURL is where callers reach the runtime API (the serviceUrl the
	// Data Index reports); default backend.baseUrl.
	ServiceURL string `yaml:"serviceUrl"`

	// SonataFlowService is the RHDH plugin's workflow service section:
	// its workflowsSource names a git repository of workflows to load.
	SonataFlowService SonataFlowServiceConfig `yaml:"sonataFlowService"`

	// Keys of the RHDH orchestrator plugin's configuration, accepted so
	// that a Backstage configuration loads; Portico itself serves what
	// dataIndexService.url points at.
	DataIndexService any `yaml:"dataIndexService"`
	// Catalog (owner, environment) shapes the catalog entities of
	// workflows; package orchestratorapi reads it.
	Catalog any `yaml:"catalog"`
	Kafka   any `yaml:"kafka"`
	Editor  any `yaml:"editor"`
}

// RuntimeAPIConfig is orchestrator.runtimeApi.
type RuntimeAPIConfig struct {
	// AllowUnauthenticated serves SonataFlow's API without Portico
	// credentials, as SonataFlow's callers send none.
	AllowUnauthenticated bool `yaml:"allowUnauthenticated"`
	// Listen, when set ({host, port} or "host:port"), also serves the
	// runtime API (SonataFlow's routes, CloudEvents ingress and the Data
	// Index) on a port of its own without Portico credentials, for
	// callers inside the cluster; the main port keeps serving it with
	// credentials. The app decodes it (see internal/app).
	Listen any `yaml:"listen"`
}

// EventingConfig is orchestrator.eventing.
type EventingConfig struct {
	// Sink receives produced events; K_SINK and the
	// mp.messaging.outgoing.kogito_outgoing_stream.url property are used
	// when it is empty.
	Sink string `yaml:"sink"`
	// InboxTTL is how long an event nobody waits for is kept (default 24h).
	InboxTTL time.Duration `yaml:"inboxTtl"`
}
