// A workflow's page: what it does, its graph, its latest runs and the
// Execute button.
import { useMemo } from 'react';
import { useApi } from '../../api/auth';
import { errorMessage } from '../../api/client';
import { instancePath } from '../../api/orchestrator';
import { Card, Chip, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, Loading } from '../../components/States';
import { formatTime } from '../../format';
import { useAsync } from '../../hooks/useAsync';
import { Link } from '../../router';
import { durationBetween, getOverview, getSource, runPath, searchInstances } from './api';
import { parseWorkflowGraph } from './graph';
import { WorkflowGraphView } from './WorkflowGraph';
import { StatusChip } from './WorkflowsPage';

export function WorkflowPage({ workflowId }: { workflowId: string }) {
  const api = useApi();
  const overview = useAsync((signal) => getOverview(api, workflowId, signal), [api, workflowId]);
  const source = useAsync((signal) => getSource(api, workflowId, signal), [api, workflowId]);
  const runs = useAsync(
    (signal) => searchInstances(api, { filters: { field: 'processId', operator: 'EQ', value: workflowId }, paginationInfo: { pageSize: 10, offset: 0, orderBy: 'start', orderDirection: 'DESC' } }, signal),
    [api, workflowId],
  );
  const graph = useMemo(() => {
    try {
      return source.value ? parseWorkflowGraph(source.value) : undefined;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }, [source.value]);
  if (overview.error) {
    return (
      <Page title={workflowId}>
        <ErrorPanel title="This workflow could not be read" error={overview.error} onRetry={overview.reload} />
      </Page>
    );
  }
  if (!overview.value) return <Loading />;
  const w = overview.value;
  return (
    <Page
      title={w.name || w.workflowId}
      subtitle={w.description}
      actions={
        w.isAvailable ? (
          <Link className="btn btn-primary" to={runPath(w.workflowId)}>
            Execute
          </Link>
        ) : (
          <Chip tone="danger">Unavailable</Chip>
        )
      }
    >
      <div className="instance-layout">
        <Card title="Latest runs">
          {runs.error ? (
            <ErrorPanel error={runs.error} onRetry={runs.reload} />
          ) : !runs.value ? (
            <Loading />
          ) : runs.value.items.length === 0 ? (
            <EmptyState title="No runs yet" />
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Status</th>
                  <th>Started</th>
                  <th>Duration</th>
                </tr>
              </thead>
              <tbody>
                {runs.value.items.map((i) => (
                  <tr key={i.id}>
                    <td>
                      <Link to={instancePath(i.id)}>
                        <code>{i.id.slice(0, 8)}</code>
                      </Link>
                    </td>
                    <td>
                      <StatusChip state={i.state} />
                    </td>
                    <td>{formatTime(i.start)}</td>
                    <td>{durationBetween(i.start, i.end)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card title="Graph" actions={<Chip tone={w.category === 'assessment' ? 'info' : 'neutral'}>{w.category}</Chip>}>
          {graph instanceof Error ? (
            <p className="muted">The graph cannot be drawn: {errorMessage(graph)}</p>
          ) : graph ? (
            <WorkflowGraphView graph={graph} />
          ) : source.error ? (
            <ErrorPanel error={source.error} onRetry={source.reload} />
          ) : (
            <Loading />
          )}
        </Card>
      </div>
    </Page>
  );
}
