package scaffolder

import (
	"fmt"
	"time"
)

// Config is the scaffolder section of app-config.yaml. Backstage's current
// keys (taskRecovery.*) and the older EXPERIMENTAL_* keys are both read;
// Resolve turns them into one Settings.
type Config struct {
	// ConcurrentTasksLimit is how many tasks one replica runs at once
	// (default 10; 0 means this replica runs no tasks).
	ConcurrentTasksLimit *int `yaml:"concurrentTasksLimit"`
	// TaskTimeout fails tasks whose heartbeat is older than this (default 24 h).
	TaskTimeout time.Duration `yaml:"taskTimeout"`
	// TaskTimeoutJanitorFrequency is how often the janitor looks (default 5 min).
	TaskTimeoutJanitorFrequency time.Duration `yaml:"taskTimeoutJanitorFrequency"`
	TaskRecovery                struct {
		Enabled           *bool         `yaml:"enabled"`
		StaleTimeout      time.Duration `yaml:"staleTimeout"`
		WorkspaceProvider string        `yaml:"workspaceProvider"`
		GCSBucket         struct {
			Name string `yaml:"name"`
		} `yaml:"gcsBucket"`
		// Bucket is Portico's own key: any gocloud.dev/blob URL
		// (file:///dir, gs://b, s3://b, azblob://c) for workspaceProvider
		// "bucket".
		Bucket struct {
			URL string `yaml:"url"`
		} `yaml:"bucket"`
		Database struct {
			// DangerouslyEnableInProduction is accepted for Backstage
			// compatibility; Portico's database provider is always allowed.
			DangerouslyEnableInProduction bool `yaml:"dangerouslyEnableInProduction"`
		} `yaml:"database"`
	} `yaml:"taskRecovery"`

	LegacyRecoverTasks                   *bool         `yaml:"EXPERIMENTAL_recoverTasks"`
	LegacyRecoverTasksTimeout            time.Duration `yaml:"EXPERIMENTAL_recoverTasksTimeout"`
	LegacyWorkspaceSerialization         *bool         `yaml:"EXPERIMENTAL_workspaceSerialization"`
	LegacyWorkspaceSerializationProvider string        `yaml:"EXPERIMENTAL_workspaceSerializationProvider"`
	LegacyWorkspaceGcpBucketName         string        `yaml:"EXPERIMENTAL_workspaceSerializationGcpBucketName"`
	// LegacyGracefulShutdown is accepted; Portico always shuts down
	// gracefully (GracefulShutdownTimeout bounds it).
	LegacyGracefulShutdown *bool `yaml:"EXPERIMENTAL_gracefulShutdown"`
	// GracefulShutdownTimeout is how long a stopping replica lets running
	// steps finish before handing their tasks over (default 10 s).
	GracefulShutdownTimeout time.Duration `yaml:"gracefulShutdownTimeout"`

	// SecretsKey seals task secrets at rest (AES-256-GCM). Any string: it
	// is hashed to a key. When empty, a random key is generated once and
	// kept in the database, so every replica shares it.
	SecretsKey string `yaml:"secretsKey"`

	DefaultEnvironment struct {
		Parameters map[string]any    `yaml:"parameters"`
		Secrets    map[string]string `yaml:"secrets"`
	} `yaml:"defaultEnvironment"`
	DefaultAuthor struct {
		Name  string `yaml:"name"`
		Email string `yaml:"email"`
	} `yaml:"defaultAuthor"`
	DefaultCommitMessage string `yaml:"defaultCommitMessage"`
}

// Workspace provider names.
const (
	WorkspaceDatabase  = "database"
	WorkspaceGCPBucket = "gcpBucket"
	WorkspaceBucket    = "bucket"
	WorkspaceNone      = "none"
)

// Settings are the resolved scaffolder settings the service runs with.
type Settings struct {
	ConcurrentTasksLimit int
	TaskTimeout          time.Duration
	JanitorFrequency     time.Duration
	RecoveryEnabled      bool
	StaleTimeout         time.Duration
	// RecoveryInterval is how often stale tasks are looked for.
	RecoveryInterval time.Duration
	// WorkspaceProvider is "database", "gcpBucket", "bucket" or "none".
	WorkspaceProvider string
	// BucketURL is the blob URL for the bucket providers (gs://name for
	// gcpBucket).
	BucketURL               string
	GracefulShutdownTimeout time.Duration
	SecretsKey              string
	EnvironmentParameters   map[string]any
	EnvironmentSecrets      map[string]string
}

// Resolve applies defaults and the legacy keys. Recovery is on unless
// turned off, and serializes workspaces to the database by default, so a
// task survives a crash without configuration.
func (c Config) Resolve() (Settings, error) {
	s := Settings{
		ConcurrentTasksLimit:    10,
		TaskTimeout:             24 * time.Hour,
		JanitorFrequency:        5 * time.Minute,
		RecoveryEnabled:         true,
		StaleTimeout:            30 * time.Second,
		WorkspaceProvider:       WorkspaceDatabase,
		GracefulShutdownTimeout: 10 * time.Second,
		SecretsKey:              c.SecretsKey,
		EnvironmentParameters:   c.DefaultEnvironment.Parameters,
		EnvironmentSecrets:      c.DefaultEnvironment.Secrets,
	}
	if c.ConcurrentTasksLimit != nil {
		if *c.ConcurrentTasksLimit < 0 {
			return s, fmt.Errorf("scaffolder.concurrentTasksLimit: must be 0 or more, got %d", *c.ConcurrentTasksLimit)
		}
		s.ConcurrentTasksLimit = *c.ConcurrentTasksLimit
	}
	if c.TaskTimeout > 0 {
		s.TaskTimeout = c.TaskTimeout
	}
	if c.TaskTimeoutJanitorFrequency > 0 {
		s.JanitorFrequency = c.TaskTimeoutJanitorFrequency
	}
	switch {
	case c.TaskRecovery.Enabled != nil:
		s.RecoveryEnabled = *c.TaskRecovery.Enabled
	case c.LegacyRecoverTasks != nil:
		s.RecoveryEnabled = *c.LegacyRecoverTasks
	}
	switch {
	case c.TaskRecovery.StaleTimeout > 0:
		s.StaleTimeout = c.TaskRecovery.StaleTimeout
	case c.LegacyRecoverTasksTimeout > 0:
		s.StaleTimeout = c.LegacyRecoverTasksTimeout
	}
	// Backstage looks every 10 s; a shorter stale timeout is looked for
	// proportionally more often.
	s.RecoveryInterval = min(10*time.Second, max(s.StaleTimeout/3, 100*time.Millisecond))

	provider := c.TaskRecovery.WorkspaceProvider
	if provider == "" && c.LegacyWorkspaceSerialization != nil {
		if *c.LegacyWorkspaceSerialization {
			provider = c.LegacyWorkspaceSerializationProvider
			if provider == "" {
				provider = WorkspaceDatabase
			}
		} else {
			provider = WorkspaceNone
		}
	}
	if provider == "" {
		provider = WorkspaceDatabase
	}
	if !s.RecoveryEnabled && c.TaskRecovery.WorkspaceProvider == "" && c.LegacyWorkspaceSerialization == nil {
		provider = WorkspaceNone
	}
	s.WorkspaceProvider = provider
	switch provider {
	case WorkspaceDatabase, WorkspaceNone:
	case WorkspaceGCPBucket:
		name := c.TaskRecovery.GCSBucket.Name
		if name == "" {
			name = c.LegacyWorkspaceGcpBucketName
		}
		if name == "" {
			return s, fmt.Errorf("scaffolder.taskRecovery.gcsBucket.name: required for the gcpBucket workspace provider (or the older scaffolder.EXPERIMENTAL_workspaceSerializationGcpBucketName)")
		}
		s.BucketURL = "gs://" + name
	case WorkspaceBucket:
		if c.TaskRecovery.Bucket.URL == "" {
			return s, fmt.Errorf("scaffolder.taskRecovery.bucket.url: required for the bucket workspace provider, e.g. file:///var/lib/portico/workspaces or s3://bucket")
		}
		s.BucketURL = c.TaskRecovery.Bucket.URL
	default:
		return s, fmt.Errorf("scaffolder.taskRecovery.workspaceProvider: unknown provider %q; use database, gcpBucket, bucket or none", provider)
	}
	if c.GracefulShutdownTimeout > 0 {
		s.GracefulShutdownTimeout = c.GracefulShutdownTimeout
	}
	return s, nil
}
