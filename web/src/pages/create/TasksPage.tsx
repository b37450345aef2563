// The tasks templates started, newest first, filtered by owner and status.
import { useApi, useIdentity } from '../../api/auth';
import { humanRef } from '../../api/catalog';
import { Chip, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, Loading } from '../../components/States';
import { formatTime } from '../../format';
import { useAsync, useReloadWhile } from '../../hooks/useAsync';
import { Link, useQueryParams } from '../../router';
import { finished, listTasks, taskPath } from './api';
import { CreateTabs } from './Tabs';

const pageSize = 20;
const statuses = ['open', 'processing', 'completed', 'failed', 'cancelled'];

export function TasksPage() {
  const api = useApi();
  const identity = useIdentity();
  const [query, setQuery] = useQueryParams();
  const mine = query.get('owner') !== 'all';
  const status = query.get('status') ?? '';
  const page = Math.max(0, Number(query.get('page') ?? '0') || 0);
  const list = useAsync(
    (signal) => listTasks(api, { createdBy: mine ? identity.userEntityRef : undefined, status: status || undefined, limit: pageSize, offset: page * pageSize }, signal),
    [api, mine, status, page, identity.userEntityRef],
  );
  const total = list.value?.totalTasks ?? 0;
  // Tasks still running change their status: read the page again now and then.
  const running = list.value?.tasks.some((t) => !finished(t.status)) ?? false;
  useReloadWhile(list, running, 3000);
  return (
    <Page title="Tasks" subtitle="What templates have created, newest first">
      <CreateTabs current="tasks" />
      <div className="toolbar">
        <div className="segmented" role="radiogroup" aria-label="Whose tasks">
          <label>
            <input type="radio" name="owner" checked={mine} onChange={() => setQuery({ owner: null, page: null })} /> Mine
          </label>
          <label>
            <input type="radio" name="owner" checked={!mine} onChange={() => setQuery({ owner: 'all', page: null })} /> All
          </label>
        </div>
        <label htmlFor="tasks-status">Status</label>
        <select id="tasks-status" value={status} onChange={(e) => setQuery({ status: e.target.value || null, page: null })}>
          <option value="">Any</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {list.value && <span className="muted">{total} task(s)</span>}
      </div>
      {list.error ? (
        <ErrorPanel title="The tasks could not be read" error={list.error} onRetry={list.reload} />
      ) : !list.value ? (
        <Loading />
      ) : list.value.tasks.length === 0 ? (
        <EmptyState title="No tasks match">{mine ? 'You have not created anything with these filters; try All.' : 'Try another status.'}</EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Task</th>
                <th>Template</th>
                <th>Status</th>
                <th>Created</th>
                <th>Created by</th>
              </tr>
            </thead>
            <tbody>
              {list.value.tasks.map((t) => (
                <tr key={t.id}>
                  <td>
                    <Link to={taskPath(t.id)}>
                      <code>{t.id.slice(0, 8)}</code>
                    </Link>
                  </td>
                  <td>{t.spec.templateInfo?.entityRef ? humanRef(t.spec.templateInfo.entityRef, 'template') : ''}</td>
                  <td>
                    <Chip tone={t.status === 'completed' ? 'success' : t.status === 'failed' ? 'danger' : t.status === 'processing' ? 'info' : 'neutral'}>{t.status}</Chip>
                  </td>
                  <td>{formatTime(t.createdAt)}</td>
                  <td>{t.createdBy ? humanRef(t.createdBy, 'user') : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {total > pageSize && (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="btn" disabled={page === 0} onClick={() => setQuery({ page: page > 1 ? String(page - 1) : null })}>
            Previous
          </button>
          <button type="button" className="btn" disabled={(page + 1) * pageSize >= total} onClick={() => setQuery({ page: String(page + 1) })}>
            Next
          </button>
        </nav>
      )}
    </Page>
  );
}
