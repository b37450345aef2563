package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/config"
)

// configFlags are the flags every command that reads app-config shares.
type configFlags struct {
	files     []string
	logLevel  string
	logFormat string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.files, "config", "c", nil,
		"configuration file (repeat to merge several; later files win). Default: $PORTICO_CONFIG (colon-separated), else the development setup")
	cmd.Flags().StringVar(&f.logLevel, "log-level", envOr("PORTICO_LOG_LEVEL", "info"), "log level: debug, info, warn or error")
	cmd.Flags().StringVar(&f.logFormat, "log-format", envOr("PORTICO_LOG_FORMAT", "text"), "log format: text or json")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// configFiles returns the files given by flag or PORTICO_CONFIG.
func (f *configFlags) configFiles() []string {
	if len(f.files) > 0 {
		return f.files
	}
	var files []string
	for _, p := range filepath.SplitList(os.Getenv("PORTICO_CONFIG")) {
		if p = strings.TrimSpace(p); p != "" {
			files = append(files, p)
		}
	}
	return files
}

func (f *configFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: expected debug, info, warn or error, got %q", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: expected text or json, got %q", f.logFormat)
}

// load reads the configuration and reports its warnings.
func (f *configFlags) load() (*config.Config, bool, error) {
	files := f.configFiles()
	cfg, err := app.LoadConfig(files)
	if err != nil {
		return nil, false, err
	}
	return cfg, len(files) == 0, nil
}

func warnConfig(cfg *config.Config, log *slog.Logger) {
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w)
	}
}

func newServeCommand() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Portico server",
		Long: `Run the Portico server: catalog, scaffolder, orchestrator, notifications and the web UI.

Without --config (and without PORTICO_CONFIG) it runs the development setup:
SQLite under ./portico-data, guest access without signing in, and the example
content, on port 7007.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			log, err := flags.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cfg, development, err := flags.load()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := app.New(ctx, app.Options{Config: cfg, Development: development, Logger: log})
			if err != nil {
				return err
			}
			warnConfig(cfg, log)
			addr, err := a.Listen()
			if err != nil {
				a.Close()
				return err
			}
			env := a.Env()
			out := cmd.OutOrStdout()
			if development {
				fmt.Fprintln(out, "No configuration given: running the development setup (guest access, example content).")
			} else {
				fmt.Fprintf(out, "Configuration: %s\n", strings.Join(cfg.Files(), ", "))
			}
			fmt.Fprintf(out, "Database: %s\n", env.DB)
			fmt.Fprintf(out, "Portico is listening on %s (address %s), ready in %v\n", env.Backend.BaseURL, addr, time.Since(start).Round(time.Millisecond))
			err = a.Run(ctx)
			if err == nil {
				log.Info("stopped")
			}
			return err
		},
	}
	flags.register(cmd)
	return cmd
}

func newMigrateCommand() *cobra.Command {
	var flags configFlags
	var status bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and exit",
		Long:  "Apply every plugin's pending database migrations (portico serve also does this at start). With --status, only report the schema versions.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := flags.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cfg, _, err := flags.load()
			if err != nil {
				return err
			}
			warnConfig(cfg, log)
			return runMigrate(cmd.Context(), cmd.OutOrStdout(), cfg, status)
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&status, "status", false, "report applied and available versions without migrating")
	return cmd
}

func runMigrate(ctx context.Context, out io.Writer, cfg *config.Config, status bool) error {
	db, err := app.OpenDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if status {
		st, err := db.MigrationStatus(ctx, app.Migrations()...)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "up to date"
			if s.Current < s.Latest {
				state = fmt.Sprintf("%d pending", s.Latest-s.Current)
			}
			fmt.Fprintf(out, "%-16s version %d of %d (%s)\n", s.Plugin, s.Current, s.Latest, state)
		}
		return nil
	}
	applied, err := db.Migrate(ctx, app.Migrations()...)
	if err != nil {
		return err
	}
	for _, name := range applied {
		fmt.Fprintf(out, "applied %s\n", name)
	}
	fmt.Fprintf(out, "%s: schema is up to date (%d migrations applied)\n", db, len(applied))
	return nil
}
