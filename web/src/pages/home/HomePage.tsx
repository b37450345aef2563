// Home: quick links to what people come for, and recent activity (the
// latest notifications, workflow runs and software template tasks).
import { useCallback, type ReactNode } from 'react';
import { useApi, useIdentity } from '../../api/auth';
import { ApiError } from '../../api/client';
import { humanRef, parseRef } from '../../api/catalog';
import { listNotifications, useNotificationSignal } from '../../api/notifications';
import { instancePath, stateTone, type InstanceSummary } from '../../api/orchestrator';
import { Card, Chip, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, Loading } from '../../components/States';
import { relativeTime } from '../../format';
import { useAsync, type AsyncState } from '../../hooks/useAsync';
import { Link } from '../../router';

const quickLinks = [
  { to: '/catalog', title: 'Catalog', text: 'Find components, APIs, systems and their owners.' },
  { to: '/create', title: 'Create', text: 'Start a new project from a software template.' },
  { to: '/workflows', title: 'Workflows', text: 'Run and follow orchestrator workflows.' },
  { to: '/notifications', title: 'Notifications', text: 'What happened while you were away.' },
  { to: '/catalog?kind=api', title: 'APIs', text: 'Browse the APIs and their definitions.' },
];

interface Task {
  id: string;
  status: string;
  createdAt?: string;
  spec?: { templateInfo?: { entityRef?: string; entity?: { metadata?: { title?: string; name?: string } } } };
}

export default function HomePage() {
  const api = useApi();
  const identity = useIdentity();
  const notifications = useAsync((signal) => listNotifications(api, { limit: 5 }, signal), [api]);
  const runs = useAsync(
    (signal) =>
      api.post<{ items: InstanceSummary[] }>(
        '/api/orchestrator/v2/workflows/instances',
        { paginationInfo: { pageSize: 5, offset: 0, orderBy: 'start', orderDirection: 'DESC' } },
        { signal },
      ),
    [api],
  );
  const tasks = useAsync((signal) => api.get<{ tasks: Task[] }>('/api/scaffolder/v2/tasks', { signal, query: { limit: 5, order: 'desc:created_at' } }), [api]);
  const reload = notifications.reload;
  useNotificationSignal(useCallback(() => reload(), [reload]));

  return (
    <Page title="Home" subtitle={`Welcome, ${identity.displayName ?? parseRef(identity.userEntityRef).name}.`}>
      <div className="stack">
        <nav className="quick-links" aria-label="Quick links">
          {quickLinks.map((q) => (
            <Link key={q.to} to={q.to} className="card quick-link">
              <strong>{q.title}</strong>
              <span className="muted">{q.text}</span>
            </Link>
          ))}
        </nav>
        <div className="grid-2">
          <Card title="Latest notifications" actions={<Link to="/notifications?view=all">All</Link>}>
            <Activity state={notifications} empty="No notifications yet.">
              {(v) =>
                v.notifications.map((n) => (
                  <li key={n.id}>
                    <span>
                      {!n.read && <span className="sr-only">Unread: </span>}
                      {n.payload.link?.startsWith('/') ? <Link to={n.payload.link}>{n.payload.title}</Link> : n.payload.title}
                    </span>
                    <span className="muted">{relativeTime(n.created)}</span>
                  </li>
                ))
              }
            </Activity>
          </Card>
          <Card title="Recent workflow runs" actions={<Link to="/workflows">Workflows</Link>}>
            <Activity state={runs} empty="No workflow has run yet.">
              {(v) =>
                v.items.map((i) => (
                  <li key={i.id}>
                    <Link to={instancePath(i.id)}>{i.processName ?? i.processId}</Link>
                    <span>
                      <Chip tone={stateTone(i.state)}>{i.state}</Chip> <span className="muted">{i.start ? relativeTime(i.start) : ''}</span>
                    </span>
                  </li>
                ))
              }
            </Activity>
          </Card>
          <Card title="Recent template runs" actions={<Link to="/create">Create</Link>}>
            <Activity state={tasks} empty="No template has run yet.">
              {(v) =>
                v.tasks.map((t) => {
                  const info = t.spec?.templateInfo;
                  const title = info?.entity?.metadata?.title ?? info?.entity?.metadata?.name ?? (info?.entityRef ? humanRef(info.entityRef, 'template') : t.id);
                  return (
                    <li key={t.id}>
                      <Link to={`/create/tasks/${encodeURIComponent(t.id)}`}>{title}</Link>
                      <span>
                        <Chip tone={t.status === 'completed' ? 'success' : t.status === 'failed' ? 'danger' : 'info'}>{t.status}</Chip>{' '}
                        <span className="muted">{t.createdAt ? relativeTime(t.createdAt) : ''}</span>
                      </span>
                    </li>
                  );
                })
              }
            </Activity>
          </Card>
        </div>
      </div>
    </Page>
  );
}

/** Activity renders a recent-activity list with its loading, empty, missing-API and error states. */
function Activity<T extends object>({ state, empty, children }: { state: AsyncState<T>; empty: string; children: (v: T) => ReactNode[] }) {
  if (state.error instanceof ApiError && (state.error.status === 404 || state.error.status === 501)) {
    return <p className="muted">Not available on this server.</p>;
  }
  if (state.error) return <ErrorPanel error={state.error} onRetry={state.reload} />;
  if (!state.value) return <Loading />;
  const items = children(state.value);
  if (items.length === 0) return <EmptyState title={empty} />;
  return <ul className="activity">{items}</ul>;
}
