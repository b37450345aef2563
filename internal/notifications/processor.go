package notifications

import (
	"context"
	"slices"
)

// Processor forwards notifications to another channel (email today; Slack
// or webhooks later). Its Name is the channel users turn on and off in
// their settings.
type Processor interface {
	Name() string
	// Filter says which notifications the processor wants; the zero
	// Filter takes all.
	Filter() Filter
	// PostProcess runs after the notifications of one send are stored,
	// with those whose users have the channel on (or the one broadcast).
	// A processor that must not lose work makes it durable here.
	PostProcess(ctx context.Context, req Request, sent []Notification) error
}

// OptionsProcessor is a Processor that rewrites a request before its
// recipients are resolved.
type OptionsProcessor interface {
	ProcessOptions(ctx context.Context, req Request) (Request, error)
}

// PreProcessor is a Processor that changes each notification before it is
// stored.
type PreProcessor interface {
	PreProcess(ctx context.Context, n Notification, req Request) (Notification, error)
}

// Filter selects notifications by severity and topic, as Backstage's
// processor filters do.
type Filter struct {
	MinSeverity    Severity `yaml:"minSeverity"`
	MaxSeverity    Severity `yaml:"maxSeverity"`
	ExcludedTopics []string `yaml:"excludedTopics"`
	IncludedTopics []string `yaml:"includedTopics"`
}

// Allows reports whether a notification with payload p passes the filter.
func (f Filter) Allows(p Payload) bool {
	sev := p.Severity
	if sev == "" {
		sev = SeverityNormal
	}
	if f.MinSeverity != "" && sev.rank() > f.MinSeverity.rank() {
		return false
	}
	if f.MaxSeverity != "" && sev.rank() < f.MaxSeverity.rank() {
		return false
	}
	if p.Topic != "" && slices.Contains(f.ExcludedTopics, p.Topic) {
		return false
	}
	if len(f.IncludedTopics) > 0 && !slices.Contains(f.IncludedTopics, p.Topic) {
		return false
	}
	return true
}
