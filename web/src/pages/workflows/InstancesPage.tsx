// Every workflow run, newest first, filtered by status, workflow and
// who started it; the server filters and pages.
import { useIdentity, useApi } from '../../api/auth';
import { humanRef } from '../../api/catalog';
import { instancePath, useInstanceChanges } from '../../api/orchestrator';
import { Page } from '../../components/Page';
import { EmptyState, ErrorPanel, Loading } from '../../components/States';
import { formatTime } from '../../format';
import { useAsync, useReloadWhile } from '../../hooks/useAsync';
import { Link, useQueryParams } from '../../router';
import { durationBetween, isRunning, listOverviews, searchInstances, type Filter } from './api';
import { WorkflowTabs } from './Tabs';
import { StatusChip } from './WorkflowsPage';

const pageSize = 20;
const statuses = ['ACTIVE', 'COMPLETED', 'ERROR', 'ABORTED', 'SUSPENDED', 'PENDING'];

/** instancesFilter builds the search filter from the page's parameters. */
export function instancesFilter(opts: { status: string; mine: boolean; userRef: string; workflow: string }): Filter | undefined {
  const parts: Filter[] = [];
  if (opts.status) parts.push({ field: 'state', operator: 'EQ', value: opts.status });
  if (opts.mine) parts.push({ field: 'initiatorEntity', operator: 'EQ', value: opts.userRef });
  if (opts.workflow) parts.push({ field: 'processId', operator: 'EQ', value: opts.workflow });
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { operator: 'AND', filters: parts };
}

export function InstancesPage() {
  const api = useApi();
  const identity = useIdentity();
  const [query, setQuery] = useQueryParams();
  const status = query.get('status') ?? '';
  const workflow = query.get('workflow') ?? '';
  const mine = query.get('owner') !== 'all';
  const page = Math.max(0, Number(query.get('page') ?? '0') || 0);
  const workflows = useAsync((signal) => listOverviews(api, signal), [api]);
  const list = useAsync(
    (signal) =>
      searchInstances(
        api,
        {
          filters: instancesFilter({ status, mine, userRef: identity.userEntityRef, workflow }),
          paginationInfo: { pageSize: pageSize + 1, offset: page * pageSize, orderBy: 'start', orderDirection: 'DESC' },
        },
        signal,
      ),
    [api, status, workflow, mine, page, identity.userEntityRef],
  );
  const items = list.value?.items.slice(0, pageSize) ?? [];
  const hasNext = (list.value?.items.length ?? 0) > pageSize;
  // The server tells the signed-in user live when one of their runs
  // changes (or starts), and the page reads the list again at once. Runs
  // of others are not announced: with them listed, active runs are read
  // again every 3 s; with only one's own, every 10 s as a safety net.
  const { reload } = list;
  useInstanceChanges(() => reload());
  const running = items.some((i) => isRunning(i.state));
  useReloadWhile(list, running, mine ? 10_000 : 3000);
  return (
    <Page title="Workflow runs" subtitle="Every run of every workflow, newest first">
      <WorkflowTabs current="runs" />
      <div className="toolbar">
        <div className="segmented" role="radiogroup" aria-label="Whose runs">
          <label>
            <input type="radio" name="owner" checked={mine} onChange={() => setQuery({ owner: null, page: null })} /> Mine
          </label>
          <label>
            <input type="radio" name="owner" checked={!mine} onChange={() => setQuery({ owner: 'all', page: null })} /> All
          </label>
        </div>
        <label htmlFor="runs-status">Status</label>
        <select id="runs-status" value={status} onChange={(e) => setQuery({ status: e.target.value || null, page: null })}>
          <option value="">Any</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {s.charAt(0) + s.slice(1).toLowerCase()}
            </option>
          ))}
        </select>
        <label htmlFor="runs-workflow">Workflow</label>
        <select id="runs-workflow" value={workflow} onChange={(e) => setQuery({ workflow: e.target.value || null, page: null })}>
          <option value="">Any</option>
          {(workflows.value?.overviews ?? []).map((w) => (
            <option key={w.workflowId} value={w.workflowId}>
              {w.name || w.workflowId}
            </option>
          ))}
        </select>
      </div>
      {list.error ? (
        <ErrorPanel title="The runs could not be read" error={list.error} onRetry={list.reload} />
      ) : !list.value ? (
        <Loading />
      ) : items.length === 0 ? (
        <EmptyState title="No runs match">{mine ? 'You have not started any run with these filters; try All.' : 'Try other filters.'}</EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Run</th>
                <th>Workflow</th>
                <th>Status</th>
                <th>Started</th>
                <th>Duration</th>
                <th>Started by</th>
              </tr>
            </thead>
            <tbody>
              {items.map((i) => (
                <tr key={i.id}>
                  <td>
                    <Link to={instancePath(i.id)}>
                      <code>{i.id.slice(0, 8)}</code>
                    </Link>
                  </td>
                  <td>{i.processName || i.processId}</td>
                  <td>
                    <StatusChip state={i.state} />
                  </td>
                  <td>{formatTime(i.start)}</td>
                  <td>{durationBetween(i.start, i.end)}</td>
                  <td>{i.initiatorEntity ? humanRef(i.initiatorEntity) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(page > 0 || hasNext) && (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="btn" disabled={page === 0} onClick={() => setQuery({ page: page > 1 ? String(page - 1) : null })}>
            Previous
          </button>
          <button type="button" className="btn" disabled={!hasNext} onClick={() => setQuery({ page: String(page + 1) })}>
            Next
          </button>
        </nav>
      )}
    </Page>
  );
}
