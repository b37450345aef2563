// Package notifications is Backstage's notifications system: services send
// notifications to catalog users and groups (or to everyone), users read and
// mark them, browsers hear about them through signals, and processors (the
// email processor today) forward them to other channels.
//
// The REST API is wire-compatible with @backstage/plugin-notifications-backend
// so that NotificationService callers, the Backstage frontend and workflows
// that post with an external-access token work unchanged. Other plugins send
// without HTTP through Service.Send.
package notifications

import (
	"encoding/json"
	"slices"
	"time"
)

// Severity is a notification's urgency.
type Severity string

// The severities, most urgent first (Backstage's order).
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityNormal   Severity = "normal"
	SeverityLow      Severity = "low"
)

var severities = []Severity{SeverityCritical, SeverityHigh, SeverityNormal, SeverityLow}

// rank is the severity's position in Backstage's list: 0 is the most urgent.
// Unknown severities rank as normal.
func (s Severity) rank() int {
	if i := slices.Index(severities, s); i >= 0 {
		return i
	}
	return 2
}

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool { return slices.Contains(severities, s) }

// ParseSeverity returns the severity named s, or normal for anything else,
// as Backstage reads the minimumSeverity query parameter.
func ParseSeverity(s string) Severity {
	if sev := Severity(s); sev.Valid() {
		return sev
	}
	return SeverityNormal
}

// atLeast returns the severities at least as urgent as s.
func atLeast(s Severity) []Severity { return severities[:s.rank()+1] }

// Payload is what a notification says.
type Payload struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Link        string   `json:"link,omitempty"`
	Severity    Severity `json:"severity,omitempty"`
	Topic       string   `json:"topic,omitempty"`
	// Scope makes a notification replaceable: a later one with the same
	// scope and origin updates it instead of adding another.
	Scope string `json:"scope,omitempty"`
	Icon  string `json:"icon,omitempty"`
	// Metadata is handed to processors and never stored, as in Backstage.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// RecipientsType is how recipients are chosen.
type RecipientsType string

// The recipient types.
const (
	RecipientsBroadcast RecipientsType = "broadcast"
	RecipientsEntity    RecipientsType = "entity"
)

// Recipients says who receives a notification: everyone (broadcast) or the
// users behind catalog entities.
type Recipients struct {
	Type RecipientsType `json:"type"`
	// EntityRef and ExcludeEntityRef are a string or a list of strings on
	// the wire.
	EntityRef        StringList `json:"entityRef,omitempty"`
	ExcludeEntityRef StringList `json:"excludeEntityRef,omitempty"`
}

// StringList reads a JSON string or array of strings.
type StringList []string

// UnmarshalJSON accepts "a" and ["a", "b"].
func (l *StringList) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// Request is a notification to send (Backstage's NotificationSendOptions).
type Request struct {
	// Origin is who sends it: the caller's subject over HTTP
	// ("external:jenkins"), "plugin:<id>" for other plugins. It is never
	// read from a request body.
	Origin string `json:"-"`
	// Recipients is a pointer so that a missing member can be told from
	// an empty one, for Backstage's "missing recipients" message.
	Recipients *Recipients `json:"recipients"`
	Payload    Payload     `json:"payload"`
}

// Notification is a stored notification as the API returns it. User is ""
// for a broadcast (null on the wire).
type Notification struct {
	ID      string     `json:"id"`
	User    string     `json:"-"`
	Created time.Time  `json:"created"`
	Updated *time.Time `json:"updated,omitempty"`
	Read    *time.Time `json:"read,omitempty"`
	Saved   *time.Time `json:"saved,omitempty"`
	Origin  string     `json:"origin"`
	Payload Payload    `json:"payload"`
}

// MarshalJSON writes the wire form: user is null for broadcasts, and read,
// saved and updated are null rather than absent when unset.
func (n Notification) MarshalJSON() ([]byte, error) {
	var user *string
	if n.User != "" {
		user = &n.User
	}
	p := n.Payload
	p.Metadata = nil
	return json.Marshal(struct {
		ID      string     `json:"id"`
		User    *string    `json:"user"`
		Created time.Time  `json:"created"`
		Updated *time.Time `json:"updated"`
		Read    *time.Time `json:"read"`
		Saved   *time.Time `json:"saved"`
		Origin  string     `json:"origin"`
		Payload Payload    `json:"payload"`
	}{n.ID, user, n.Created, n.Updated, n.Read, n.Saved, n.Origin, p})
}

// IsBroadcast reports whether n is for everyone.
func (n Notification) IsBroadcast() bool { return n.User == "" }

// Status counts a user's notifications.
type Status struct {
	Unread int `json:"unread"`
	Read   int `json:"read"`
}

// OrderField orders notification lists.
type OrderField struct {
	Field string
	Desc  bool
}

// ListOptions select a user's notifications. Nil pointers do not filter;
// Limit 0 means no limit (Backstage has no default page size).
type ListOptions struct {
	User            string
	IDs             []string
	Offset          int
	Limit           int
	Order           []OrderField
	Topic           string
	Search          string
	Read            *bool
	Saved           *bool
	CreatedAfter    *time.Time
	MinimumSeverity Severity
}

// ListResult is a page of notifications and how many match in all.
type ListResult struct {
	TotalCount    int            `json:"totalCount"`
	Notifications []Notification `json:"notifications"`
}

// Settings are a user's per-channel choices (Backstage's
// NotificationSettings).
type Settings struct {
	Channels []ChannelSetting `json:"channels" yaml:"channels"`
}

// ChannelSetting is one channel ("Web", "Email", ...).
type ChannelSetting struct {
	ID      string          `json:"id" yaml:"id"`
	Enabled *bool           `json:"enabled,omitempty" yaml:"enabled"`
	Origins []OriginSetting `json:"origins" yaml:"origins"`
}

// OriginSetting is one sender within a channel.
type OriginSetting struct {
	ID      string         `json:"id" yaml:"id"`
	Enabled bool           `json:"enabled" yaml:"enabled"`
	Topics  []TopicSetting `json:"topics,omitempty" yaml:"topics"`
}

// TopicSetting is one topic of an origin.
type TopicSetting struct {
	ID      string `json:"id" yaml:"id"`
	Enabled bool   `json:"enabled" yaml:"enabled"`
}
