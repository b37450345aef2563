// The Notifications section: /notifications (the list with filters) and
// /notifications/settings (which origins and topics may notify).
import { useCallback, useEffect, useState } from 'react';
import { useApi } from '../../api/auth';
import {
  listNotifications,
  notificationTopics,
  updateNotifications,
  useNotificationSignal,
  type ListQuery,
  type Notification,
  type Severity,
} from '../../api/notifications';
import { Chip, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, InlineError, Loading } from '../../components/States';
import { useAsync } from '../../hooks/useAsync';
import { useDebounced } from '../../hooks/useDebounced';
import { formatTime, relativeTime } from '../../format';
import { Link, matchPath, useLocation, useQueryParams } from '../../router';
import NotFoundPage from '../NotFoundPage';
import { NotificationSettingsPage } from './NotificationSettingsPage';

export default function NotificationsSection() {
  const { pathname } = useLocation();
  if (matchPath('/notifications', pathname)) return <NotificationsPage />;
  if (matchPath('/notifications/settings', pathname)) return <NotificationSettingsPage />;
  return <NotFoundPage />;
}

const pageSize = 20;
const severities: Severity[] = ['critical', 'high', 'normal', 'low'];
const views = [
  { id: 'unread', label: 'Unread' },
  { id: 'all', label: 'All' },
  { id: 'read', label: 'Read' },
  { id: 'saved', label: 'Saved' },
] as const;

/** listQuery turns the page's URL parameters into the API's query. */
export function listQuery(params: URLSearchParams, offset: number): ListQuery {
  const view = params.get('view') ?? 'unread';
  const severity = params.get('severity');
  return {
    read: view === 'unread' ? false : view === 'read' ? true : undefined,
    saved: view === 'saved' ? true : undefined,
    minimumSeverity: severities.includes(severity as Severity) ? (severity as Severity) : undefined,
    topic: params.get('topic') || undefined,
    search: params.get('q') || undefined,
    offset,
    limit: pageSize,
  };
}

function NotificationsPage() {
  const api = useApi();
  const [params, setParams] = useQueryParams();
  const [search, setSearch] = useState(params.get('q') ?? '');
  const term = useDebounced(search.trim(), 300);
  const [offset, setOffset] = useState(0);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const view = params.get('view') ?? 'unread';

  useEffect(() => {
    if ((params.get('q') ?? '') !== term) setParams({ q: term || null });
  }, [term, params, setParams]);
  const key = params.toString();
  useEffect(() => setOffset(0), [key]);

  const list = useAsync((signal) => listNotifications(api, listQuery(params, offset), signal), [api, key, offset]);
  const topics = useAsync((signal) => notificationTopics(api, signal), [api]);

  const reloadList = list.reload;
  const reloadTopics = topics.reload;
  const onSignal = useCallback(() => {
    reloadList();
    reloadTopics();
  }, [reloadList, reloadTopics]);
  useNotificationSignal(onSignal);

  const update = async (ids: string[], change: { read?: boolean; saved?: boolean }) => {
    setActionError(undefined);
    try {
      await updateNotifications(api, ids, change);
      list.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  const items = list.value?.notifications ?? [];
  const unreadHere = items.filter((n) => !n.read).map((n) => n.id);
  const total = list.value?.totalCount ?? 0;

  return (
    <Page
      title="Notifications"
      subtitle="What happened in your projects, workflows and tasks."
      actions={
        <>
          <button type="button" className="btn" disabled={unreadHere.length === 0} onClick={() => update(unreadHere, { read: true })}>
            Mark all shown as read
          </button>
          <Link to="/notifications/settings" className="btn">
            Settings
          </Link>
        </>
      }
    >
      <div className="filter-bar" role="search">
        <div className="field">
          <span id="view-label" className="field-label">
            Show
          </span>
          <div className="segmented" role="group" aria-labelledby="view-label">
            {views.map((v) => (
              <button key={v.id} type="button" aria-pressed={view === v.id} onClick={() => setParams({ view: v.id === 'unread' ? null : v.id })}>
                {v.label}
              </button>
            ))}
          </div>
        </div>
        <div className="field">
          <label htmlFor="n-severity">Severity</label>
          <select id="n-severity" value={params.get('severity') ?? ''} onChange={(e) => setParams({ severity: e.target.value || null })}>
            <option value="">Any</option>
            <option value="critical">Critical</option>
            <option value="high">High or above</option>
            <option value="normal">Normal or above</option>
            <option value="low">Low or above</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="n-topic">Topic</label>
          <select id="n-topic" value={params.get('topic') ?? ''} onChange={(e) => setParams({ topic: e.target.value || null })}>
            <option value="">Any</option>
            {(topics.value?.topics ?? []).map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor="n-search">Search</label>
          <input id="n-search" type="search" placeholder="Title or description" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
      </div>
      <InlineError error={actionError} />
      {list.error ? (
        <ErrorPanel title="Notifications could not be read" error={list.error} onRetry={list.reload} />
      ) : !list.value ? (
        <Loading />
      ) : items.length === 0 ? (
        <EmptyState title={view === 'unread' ? 'You are all caught up' : 'No notifications'}>
          {view === 'unread' ? 'New notifications show up here as they arrive.' : 'Nothing matches these filters.'}
        </EmptyState>
      ) : (
        <div className="card" aria-busy={list.loading || undefined}>
          <ul className="plain-list" aria-label="Notifications">
            {items.map((n) => (
              <NotificationItem key={n.id} n={n} onUpdate={update} />
            ))}
          </ul>
        </div>
      )}
      {total > pageSize && (
        <nav className="pager" aria-label="Pages">
          <span className="muted">
            {offset + 1}–{Math.min(offset + pageSize, total)} of {total}
          </span>
          <button type="button" className="btn" disabled={offset === 0} onClick={() => setOffset((o) => Math.max(0, o - pageSize))}>
            Previous
          </button>
          <button type="button" className="btn" disabled={offset + pageSize >= total} onClick={() => setOffset((o) => o + pageSize)}>
            Next
          </button>
        </nav>
      )}
    </Page>
  );
}

const severityTone: Record<string, 'danger' | 'warning' | 'info' | 'neutral'> = {
  critical: 'danger',
  high: 'warning',
  normal: 'info',
  low: 'neutral',
};

/**
 * appPath returns the in-app path of a link to this app (a path, or an
 * absolute URL on the app's own origin), or undefined for other links.
 */
export function appPath(link: string, origin = window.location.origin): string | undefined {
  if (link.startsWith('/') && !link.startsWith('//')) return link;
  try {
    const u = new URL(link);
    if (u.origin === origin) return u.pathname + u.search + u.hash;
  } catch {
    // Not a URL: leave it as an external link.
  }
  return undefined;
}

/** NotificationItem shows one notification with its actions. */
export function NotificationItem({ n, onUpdate }: { n: Notification; onUpdate: (ids: string[], change: { read?: boolean; saved?: boolean }) => void }) {
  const severity = n.payload.severity ?? 'normal';
  const link = n.payload.link;
  const openLink = () => {
    if (!n.read) onUpdate([n.id], { read: true });
  };
  const path = link ? appPath(link) : undefined;
  return (
    <li className={`notification severity-${severity} ${n.read ? 'read' : 'unread'}`} aria-label={`${n.read ? '' : 'Unread: '}${n.payload.title}`}>
      <div className="notification-body">
        <p className="notification-title">
          {link ? (
            path ? (
              <Link to={path} onClick={openLink}>
                {n.payload.title}
              </Link>
            ) : (
              <a href={link} target="_blank" rel="noreferrer noopener" onClick={openLink}>
                {n.payload.title}
              </a>
            )
          ) : (
            n.payload.title
          )}
        </p>
        {n.payload.description && <p className="notification-description">{n.payload.description}</p>}
        <div className="notification-meta">
          <Chip tone={severityTone[severity]}>{severity}</Chip>
          {n.payload.topic && <span>Topic: {n.payload.topic}</span>}
          <span>From: {n.origin}</span>
          <time dateTime={n.created} title={formatTime(n.created)}>
            {relativeTime(n.created)}
          </time>
          {!n.user && <span>Broadcast</span>}
          {n.saved && <Chip tone="success">saved</Chip>}
        </div>
      </div>
      <div className="notification-actions">
        <button
          type="button"
          className="btn btn-small"
          aria-label={`${n.read ? 'Mark unread' : 'Mark read'}: ${n.payload.title}`}
          onClick={() => onUpdate([n.id], { read: !n.read })}
        >
          {n.read ? 'Mark unread' : 'Mark read'}
        </button>
        <button
          type="button"
          className="btn btn-small"
          aria-label={`${n.saved ? 'Unsave' : 'Save'}: ${n.payload.title}`}
          onClick={() => onUpdate([n.id], { saved: !n.saved })}
        >
          {n.saved ? 'Unsave' : 'Save'}
        </button>
      </div>
    </li>
  );
}

