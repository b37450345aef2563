package notifications

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

// SignalChannel is the signals channel the notifications plugin publishes
// on; Backstage's frontend subscribes to it.
const SignalChannel = "notifications"

// Signals publishes live updates to browsers (events.Signals).
type Signals interface {
	Publish(ctx context.Context, channel string, broadcast bool, entityRefs []string, message any) error
}

// The signal messages, as Backstage's frontend reads them.
type newNotificationSignal struct {
	Action         string `json:"action"`
	NotificationID string `json:"notification_id"`
}

type readSignal struct {
	Action          string   `json:"action"`
	NotificationIDs []string `json:"notification_ids"`
}

// Options configure a Service.
type Options struct {
	DB *store.DB
	// Resolver finds the users behind entity recipients.
	Resolver RecipientResolver
	// Signals, when set, carries live updates.
	Signals Signals
	// Processors forward notifications to other channels.
	Processors []Processor
	// AppBaseURL is the frontend's base URL, against which links are
	// checked.
	AppBaseURL string
	// DefaultSettings apply to users who have not chosen otherwise
	// (notifications.defaultSettings).
	DefaultSettings Settings
	Logger          *slog.Logger
	// RecoveryInterval is how often Run looks for interrupted sends
	// (default RecoveryInterval).
	RecoveryInterval time.Duration
}

// Service sends and reads notifications.
type Service struct {
	store      *Store
	resolver   RecipientResolver
	signals    Signals
	processors []Processor
	baseURL    string
	defaults   Settings
	log        *slog.Logger

	recoveryInterval time.Duration
}

// New returns a Service.
func New(opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{
		store: NewStore(opts.DB), resolver: opts.Resolver, signals: opts.Signals, processors: opts.Processors,
		baseURL: opts.AppBaseURL, defaults: opts.DefaultSettings, log: log, recoveryInterval: opts.RecoveryInterval,
	}
}

// Store returns the service's store.
func (s *Service) Store() *Store { return s.store }

// Send validates and stores a notification for its recipients, signals
// their browsers and hands it to the processors. It returns the stored
// notifications (one for a broadcast). Other plugins call it directly with
// Origin "plugin:<their id>".
func (s *Service) Send(ctx context.Context, req Request) ([]Notification, error) {
	origin := req.Origin
	if origin == "" {
		return nil, errs.InputErrorf("a notification needs an origin")
	}
	for _, p := range s.processors {
		op, ok := p.(OptionsProcessor)
		if !ok || !p.Filter().Allows(req.Payload) {
			continue
		}
		out, err := op.ProcessOptions(ctx, req)
		if err != nil {
			s.log.ErrorContext(ctx, "notification processor failed", "processor", p.Name(), "step", "processOptions", "err", err)
			continue
		}
		req = out
	}
	if err := s.validate(&req); err != nil {
		return nil, err
	}
	base := Notification{Origin: origin, Created: store.Now(), Payload: req.Payload}
	switch req.Recipients.Type {
	case RecipientsBroadcast:
		n, err := s.sendBroadcast(ctx, base, req)
		if err != nil {
			return nil, err
		}
		return []Notification{n}, nil
	case RecipientsEntity:
		if s.resolver == nil {
			return nil, fmt.Errorf("send notification: no recipient resolver")
		}
		users, err := s.resolver.Resolve(ctx, req.Recipients.EntityRef, req.Recipients.ExcludeEntityRef)
		if err != nil {
			return nil, fmt.Errorf("resolve notification recipients: %w", err)
		}
		return s.sendToUsers(ctx, base, users, req)
	default:
		return nil, errs.InputErrorf("Invalid recipients type, please use either 'broadcast' or 'entity'")
	}
}

func (s *Service) validate(req *Request) error {
	var missing []string
	if strings.TrimSpace(req.Payload.Title) == "" {
		missing = append(missing, "title")
	}
	if req.Recipients == nil {
		missing = append(missing, "recipients")
	}
	if len(missing) > 0 {
		return errs.InputErrorf("Invalid notification request received: missing %s", strings.Join(missing, ", "))
	}
	if req.Payload.Severity == "" {
		req.Payload.Severity = SeverityNormal
	}
	if !req.Payload.Severity.Valid() {
		return errs.InputErrorf("Invalid severity '%s'; use critical, high, normal or low", req.Payload.Severity)
	}
	if req.Payload.Link != "" {
		if _, err := resolveLink(s.baseURL, req.Payload.Link); err != nil {
			return errs.InputErrorf("Invalid link provided: %v", err)
		}
	}
	return nil
}

// resolveLink resolves link against the app's base URL (a relative link
// is a path in the app) and accepts only http and https results.
func resolveLink(baseURL, link string) (string, error) {
	base, err := url.Parse(strings.TrimSuffix(baseURL, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("app.baseUrl: %w", err)
	}
	ref, err := url.Parse(strings.TrimPrefix(link, "/"))
	if err != nil {
		return "", err
	}
	u := base.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("only HTTP/HTTPS links are allowed")
	}
	return u.String(), nil
}

func (s *Service) preProcess(ctx context.Context, n Notification, req Request, settings Settings) Notification {
	for _, p := range s.processors {
		pp, ok := p.(PreProcessor)
		if !ok || !s.wants(p, n, settings) {
			continue
		}
		out, err := pp.PreProcess(ctx, n, req)
		if err != nil {
			s.log.ErrorContext(ctx, "notification processor failed", "processor", p.Name(), "step", "preProcess", "err", err)
			continue
		}
		n = out
	}
	return n
}

// wants reports whether processor p takes n: its filter allows it and, for
// a user's notification, the user has not turned the channel off.
func (s *Service) wants(p Processor, n Notification, settings Settings) bool {
	if !n.IsBroadcast() && !enabledFor(settings, p.Name(), n.Origin, n.Payload.Topic) {
		return false
	}
	return p.Filter().Allows(n.Payload)
}

// postProcess hands the notifications of one send to each processor that
// wants some of them, and reports whether every processor succeeded.
func (s *Service) postProcess(ctx context.Context, req Request, sent []Notification, settings map[string]Settings) bool {
	ok := true
	for _, p := range s.processors {
		var mine []Notification
		for _, n := range sent {
			if s.wants(p, n, s.effective(settings, n.User)) {
				mine = append(mine, n)
			}
		}
		if len(mine) == 0 {
			continue
		}
		if err := p.PostProcess(ctx, req, mine); err != nil {
			ok = false
			s.log.ErrorContext(ctx, "notification processor failed", "processor", p.Name(), "step", "postProcess", "err", err)
		}
	}
	return ok
}

// finish runs the processors of a send and, when they all succeed, drops
// its dispatch record; otherwise Run retries it after the lease.
func (s *Service) finish(ctx context.Context, d *dispatch, req Request, sent []Notification, settings map[string]Settings) {
	if !s.postProcess(ctx, req, sent, settings) || d == nil {
		return
	}
	// The mail is queued even if the caller has gone away.
	if err := s.store.deleteDispatch(context.WithoutCancel(ctx), d.ID); err != nil {
		s.log.WarnContext(ctx, "cannot finish dispatch; it will be processed again", "err", err)
	}
}

func (s *Service) effective(stored map[string]Settings, user string) Settings {
	if st, ok := stored[user]; ok {
		return overlay(s.defaults, st)
	}
	return s.defaults
}

func (s *Service) sendBroadcast(ctx context.Context, base Notification, req Request) (Notification, error) {
	n := base
	n.ID = uuid.NewString()
	n = s.preProcess(ctx, n, req, s.defaults)
	var d *dispatch
	err := s.store.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = s.store.upsertBroadcast(ctx, tx, n); err != nil {
			return err
		}
		d, err = s.recordDispatch(ctx, tx, req, base, []Notification{n}, nil)
		return err
	})
	if err != nil {
		return Notification{}, err
	}
	s.signal(ctx, true, nil, newNotificationSignal{Action: "new_notification", NotificationID: n.ID})
	s.finish(ctx, d, req, []Notification{n}, nil)
	return n, nil
}

func (s *Service) sendToUsers(ctx context.Context, base Notification, users []string, req Request) ([]Notification, error) {
	stored, err := s.store.userSettings(ctx, users)
	if err != nil {
		return nil, err
	}
	var keep, skipped []Notification
	// All users of one send share the notification id (each has their own
	// row), so one signal can name the notification for many of them.
	id := uuid.NewString()
	for _, user := range users {
		n := base
		n.ID, n.User = id, user
		settings := s.effective(stored, user)
		n = s.preProcess(ctx, n, req, settings)
		// A user who turned the web channel off for this origin or topic
		// gets nothing stored; other channels still see it.
		if !enabledFor(settings, WebChannel, n.Origin, n.Payload.Topic) {
			skipped = append(skipped, n)
			continue
		}
		keep = append(keep, n)
	}
	sent := []Notification{}
	var d *dispatch
	if len(keep) > 0 || (len(skipped) > 0 && len(s.processors) > 0) {
		err = s.store.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			if len(keep) > 0 {
				if sent, err = s.store.insertUserNotifications(ctx, tx, keep); err != nil {
					return err
				}
			}
			d, err = s.recordDispatch(ctx, tx, req, base, sent, skipped)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	s.signalNew(ctx, sent)
	s.finish(ctx, d, req, append(slices.Clone(sent), skipped...), stored)
	return sent, nil
}

// recordDispatch writes, in the send's transaction, what the processors
// still have to do; nil when there are no processors.
func (s *Service) recordDispatch(ctx context.Context, tx *sql.Tx, req Request, base Notification, stored, skipped []Notification) (*dispatch, error) {
	if len(s.processors) == 0 {
		return nil, nil
	}
	d := newDispatch(base.Origin, req, base.Created, stored, skipped)
	if err := s.store.insertDispatch(ctx, tx, d); err != nil {
		return nil, err
	}
	return &d, nil
}

// signalBatch bounds the users of one signal, so that its message stays
// well below what NOTIFY carries between replicas.
const signalBatch = 100

// signalNew announces stored notifications to their users: one signal per
// notification id (a scope update keeps a user's older id) and batch of
// users, rather than one per user, so that a send to a large group does
// not flood every open browser's stream.
func (s *Service) signalNew(ctx context.Context, sent []Notification) {
	var ids []string
	byID := map[string][]string{}
	for _, n := range sent {
		if _, ok := byID[n.ID]; !ok {
			ids = append(ids, n.ID)
		}
		byID[n.ID] = append(byID[n.ID], n.User)
	}
	for _, id := range ids {
		users := byID[id]
		for start := 0; start < len(users); start += signalBatch {
			s.signal(ctx, false, users[start:min(start+signalBatch, len(users))], newNotificationSignal{Action: "new_notification", NotificationID: id})
		}
	}
}

func (s *Service) signal(ctx context.Context, broadcast bool, users []string, msg any) {
	if s.signals == nil {
		return
	}
	if err := s.signals.Publish(ctx, SignalChannel, broadcast, users, msg); err != nil {
		// The notification is stored; a browser that misses the signal
		// sees it on its next read.
		s.log.WarnContext(ctx, "cannot signal notification", "err", err)
	}
}

// List returns a page of the user's notifications and the total that
// match.
func (s *Service) List(ctx context.Context, o ListOptions) (ListResult, error) {
	ns, err := s.store.List(ctx, o)
	if err != nil {
		return ListResult{}, err
	}
	total, err := s.store.Count(ctx, o)
	if err != nil {
		return ListResult{}, err
	}
	return ListResult{TotalCount: total, Notifications: ns}, nil
}

// Get returns one of the user's notifications.
func (s *Service) Get(ctx context.Context, user, id string) (Notification, error) {
	return s.store.Get(ctx, user, id)
}

// Status counts the user's read and unread notifications.
func (s *Service) Status(ctx context.Context, user string) (Status, error) {
	return s.store.Status(ctx, user)
}

// Topics lists the topics of the user's notifications that match.
func (s *Service) Topics(ctx context.Context, o ListOptions) ([]string, error) {
	return s.store.Topics(ctx, o)
}

// Update marks the user's notifications ids read or unread and saved or
// not (nil leaves a state alone), signals the read change, and returns the
// notifications as they are now.
func (s *Service) Update(ctx context.Context, user string, ids []string, read, saved *bool) ([]Notification, error) {
	if read != nil {
		if err := s.store.setState(ctx, user, ids, "read", *read); err != nil {
			return nil, err
		}
		action := "notification_read"
		if !*read {
			action = "notification_unread"
		}
		s.signal(ctx, false, []string{user}, readSignal{Action: action, NotificationIDs: ids})
	}
	if saved != nil {
		if err := s.store.setState(ctx, user, ids, "saved", *saved); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return []Notification{}, nil
	}
	return s.store.List(ctx, ListOptions{User: user, IDs: ids})
}

// Channels returns the channel ids users have settings for: the web, each
// processor and those the defaults name.
func (s *Service) Channels() []string {
	channels := []string{WebChannel}
	for _, p := range s.processors {
		channels = append(channels, p.Name())
	}
	for _, c := range s.defaults.Channels {
		if !slices.Contains(channels, c.ID) {
			channels = append(channels, c.ID)
		}
	}
	return channels
}

// Settings returns the user's settings as they apply, with every origin and
// topic the user has received.
func (s *Service) Settings(ctx context.Context, user string) (Settings, error) {
	stored, err := s.store.userSettings(ctx, []string{user})
	if err != nil {
		return Settings{}, err
	}
	received, err := s.store.received(ctx, user)
	if err != nil {
		return Settings{}, err
	}
	return settingsView(s.Channels(), s.effective(stored, user), received), nil
}

// SaveSettings replaces the user's settings and returns them as they now
// apply.
func (s *Service) SaveSettings(ctx context.Context, user string, st Settings) (Settings, error) {
	channels := s.Channels()
	for _, c := range st.Channels {
		if !slices.Contains(channels, c.ID) {
			return Settings{}, errs.InputErrorf("Invalid channel")
		}
	}
	if err := s.store.saveSettings(ctx, user, st); err != nil {
		return Settings{}, err
	}
	return s.Settings(ctx, user)
}
