package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/notifications"
	"github.com/portico-dev/portico/internal/store"
)

// notificationsConfig is the notifications section of app-config.yaml.
type notificationsConfig struct {
	Retention       notifications.Retention `yaml:"retention"`
	DefaultSettings notifications.Settings  `yaml:"defaultSettings"`
	// ConcurrencyLimit and ThrottleInterval pace Backstage's per-user
	// sends; Portico stores a send's notifications in batches, so they are
	// accepted and have nothing to pace.
	ConcurrencyLimit int           `yaml:"concurrencyLimit"`
	ThrottleInterval time.Duration `yaml:"throttleInterval"`
	Processors       struct {
		Email *notifications.EmailConfig `yaml:"email"`
	} `yaml:"processors"`
}

func notificationsPlugin() Plugin {
	return Plugin{
		ID:         "notifications",
		Migrations: []store.Migrations{notifications.Migrations},
		Init:       initNotifications,
	}
}

func initNotifications(ctx context.Context, env *Env) error {
	var cfg notificationsConfig
	if err := env.Config.Decode("notifications", &cfg); err != nil {
		return err
	}
	if env.Catalog == nil {
		return errors.New("notifications need the catalog, which has not started")
	}
	cat := notificationsCatalog{env.Catalog}
	log := env.Logger.With("plugin", "notifications")

	var processors []notifications.Processor
	if email := cfg.Processors.Email; email != nil {
		if err := email.Validate(); err != nil {
			return err
		}
		transport, err := notifications.NewTransport(email.TransportConfig, nil, log)
		if err != nil {
			return fmt.Errorf("notifications.processors.email: %w", err)
		}
		p := notifications.NewEmailProcessor(*email, notifications.EmailOptions{
			DB: env.DB, Catalog: cat, Transport: transport, AppBaseURL: env.App.BaseURL, Logger: log,
		})
		processors = append(processors, p)
		env.Go("notifications-email", p.Run)
	}

	svc := notifications.New(notifications.Options{
		DB:              env.DB,
		Resolver:        notifications.CatalogResolver{Catalog: cat},
		Signals:         env.Signals,
		Processors:      processors,
		AppBaseURL:      env.App.BaseURL,
		DefaultSettings: cfg.DefaultSettings,
		Logger:          log,
	})
	env.Notifications = svc
	(&notifications.HTTP{Service: svc}).Routes(env.Router("notifications"))
	// Finishes sends whose processors a stopped process left undone.
	env.Go("notifications", svc.Run)

	if !cfg.Retention.Disabled {
		retention := cfg.Retention.Duration
		if retention == 0 {
			retention = notifications.DefaultRetention
		}
		cleaner := &notifications.Cleaner{Store: svc.Store(), Retention: retention, Logger: log}
		env.Go("notifications-retention", cleaner.Run)
	}
	return nil
}

// notificationsCatalog gives the notifications plugin the catalog reads it
// needs.
type notificationsCatalog struct{ svc *catalog.Service }

// EntitiesByRefs implements notifications.Catalog.
func (c notificationsCatalog) EntitiesByRefs(ctx context.Context, refs []string) ([]json.RawMessage, error) {
	return c.svc.EntitiesByRefs(ctx, refs, nil)
}

// ListUsers implements notifications.Catalog.
func (c notificationsCatalog) ListUsers(ctx context.Context, fn func(entity []byte) error) error {
	users := catalog.KeyFilter("kind", "user")
	return c.svc.ListEntities(ctx, catalog.ListRequest{Filter: &users}, fn)
}
