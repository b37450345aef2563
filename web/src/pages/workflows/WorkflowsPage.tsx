// The Orchestrator page: every workflow with its type, last run and
// availability, and an Execute button that opens its run page.
import { useApi } from '../../api/auth';
import { instancePath, stateTone } from '../../api/orchestrator';
import { Chip, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, Loading } from '../../components/States';
import { formatTime, relativeTime } from '../../format';
import { useAsync } from '../../hooks/useAsync';
import { Link, useQueryParams } from '../../router';
import { listOverviews, runPath, workflowPath, type WorkflowOverview } from './api';
import { WorkflowTabs } from './Tabs';

/** statusLabel shows a run state as RHDH does ("Completed"). */
export function statusLabel(state?: string): string {
  if (!state) return '';
  const s = state.toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function StatusChip({ state }: { state?: string }) {
  if (!state) return <span className="muted">—</span>;
  return (
    <span data-status={state.toUpperCase()}>
      <Chip tone={stateTone(state)}>{statusLabel(state)}</Chip>
    </span>
  );
}

export function WorkflowsPage() {
  const api = useApi();
  const [query, setQuery] = useQueryParams();
  const category = query.get('type') ?? '';
  const search = (query.get('q') ?? '').toLowerCase();
  const list = useAsync((signal) => listOverviews(api, signal), [api]);
  const rows = (list.value?.overviews ?? []).filter(
    (w) =>
      (!category || w.category === category) &&
      (!search || `${w.name ?? ''} ${w.workflowId} ${w.description ?? ''}`.toLowerCase().includes(search)),
  );
  return (
    <Page title="Workflows" subtitle="Run and monitor orchestrator workflows">
      <WorkflowTabs current="workflows" />
      <div className="toolbar">
        <label htmlFor="wf-search" className="sr-only">
          Search workflows
        </label>
        <input id="wf-search" type="search" placeholder="Search workflows" value={query.get('q') ?? ''} onChange={(e) => setQuery({ q: e.target.value || null })} />
        <label htmlFor="wf-type">Type</label>
        <select id="wf-type" value={category} onChange={(e) => setQuery({ type: e.target.value || null })}>
          <option value="">All</option>
          <option value="infrastructure">Infrastructure</option>
          <option value="assessment">Assessment</option>
        </select>
      </div>
      {list.error ? (
        <ErrorPanel title="The workflows could not be read" error={list.error} onRetry={list.reload} />
      ) : !list.value ? (
        <Loading />
      ) : rows.length === 0 ? (
        <EmptyState title={list.value.overviews.length ? 'No workflow matches' : 'No workflows yet'}>
          {list.value.overviews.length ? 'Try another search or type.' : 'Add workflow files to orchestrator.workflows in the configuration.'}
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table workflows-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th>Last run</th>
                <th>Last run status</th>
                <th>Description</th>
                <th>Availability</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((w) => (
                <WorkflowRow key={w.workflowId} w={w} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

function WorkflowRow({ w }: { w: WorkflowOverview }) {
  const name = w.name || w.workflowId;
  const last = w.lastTriggeredMs ? new Date(w.lastTriggeredMs).toISOString() : '';
  return (
    <tr data-workflow={w.workflowId}>
      <td>
        <Link to={workflowPath(w.workflowId)}>{name}</Link>
      </td>
      <td>
        <Chip tone={w.category === 'assessment' ? 'info' : 'neutral'}>{w.category || 'infrastructure'}</Chip>
      </td>
      <td>{last ? <span title={formatTime(last)}>{relativeTime(last)}</span> : <span className="muted">Never</span>}</td>
      <td>{w.lastRunId ? <Link to={instancePath(w.lastRunId)}>{<StatusChip state={w.lastRunStatus} />}</Link> : <span className="muted">—</span>}</td>
      <td>{w.description}</td>
      <td>{w.isAvailable ? <Chip tone="success">Available</Chip> : <Chip tone="danger">Unavailable</Chip>}</td>
      <td>
        {w.isAvailable ? (
          <Link className="btn btn-small btn-primary" to={runPath(w.workflowId)} aria-label={`Execute ${name}`}>
            Execute
          </Link>
        ) : (
          <button type="button" className="btn btn-small" disabled aria-label={`Execute ${name}`}>
            Execute
          </button>
        )}
      </td>
    </tr>
  );
}
