// A workflow instance: status and times, the workflow's graph with the
// path taken, the node timeline, the result and the recommended next
// workflows, errors, and Abort / Retrigger / Run again. The user who
// started the run hears of its changes live (signals channel
// "orchestrator") and the page reads it again at once; others, whom the
// server does not tell, poll about once a second while it runs (and the
// tab is visible).
import { useMemo, useState } from 'react';
import { useApi, useIdentity } from '../../api/auth';
import { entityPath, humanRef } from '../../api/catalog';
import { errorMessage } from '../../api/client';
import { instancePath, useInstanceChanges } from '../../api/orchestrator';
import { Card, Page } from '../../components/Page';
import { ErrorPanel, InlineError, Loading } from '../../components/States';
import { formatTime } from '../../format';
import { useAsync, useReloadWhile } from '../../hooks/useAsync';
import { Link } from '../../router';
import {
  abortInstance,
  durationBetween,
  getInstance,
  getSource,
  isRunning,
  retrigger,
  runPath,
  workflowPath,
  type NodeInstance,
  type ProcessInstance,
} from './api';
import { parseWorkflowGraph } from './graph';
import { ResultView } from './Result';
import { WorkflowGraphView, type GraphMarks } from './WorkflowGraph';
import { StatusChip } from './WorkflowsPage';

/** pollMs is how often a running instance is read again when no live updates come for it. */
const pollMs = 1000;

/** livePollMs is the safety-net poll of a run whose changes arrive live. */
const livePollMs = 10_000;

/** graphMarks works out which states an instance visited, is in, or failed in. */
export function graphMarks(inst: ProcessInstance): GraphMarks {
  const visited = new Set<string>();
  const current = new Set<string>();
  for (const n of inst.nodes ?? []) {
    visited.add(n.name);
    if (n.definitionId) visited.add(n.definitionId);
    if (!n.exit && isRunning(inst.state)) current.add(n.name);
  }
  let failed: string | undefined;
  if (inst.error?.nodeDefinitionId) {
    const byDef = inst.nodes?.find((n) => n.definitionId === inst.error!.nodeDefinitionId || n.id === inst.error!.nodeInstanceId);
    failed = byDef?.name ?? inst.error.nodeDefinitionId;
  } else {
    failed = inst.nodes?.find((n) => n.errorMessage)?.name;
  }
  return { visited, current, failed, completed: (inst.state ?? '').toUpperCase() === 'COMPLETED' };
}

export function InstancePage({ instanceId }: { instanceId: string }) {
  const api = useApi();
  const inst = useAsync((signal) => getInstance(api, instanceId, signal), [api, instanceId]);
  const running = isRunning(inst.value?.state);
  const identity = useIdentity();
  const live = !!inst.value?.initiatorEntity && inst.value.initiatorEntity.toLowerCase() === identity.userEntityRef.toLowerCase();
  const { reload } = inst;
  useInstanceChanges((ids) => {
    if (!ids || ids.includes(instanceId)) reload();
  });
  useReloadWhile(inst, running, live ? livePollMs : pollMs);

  const workflowId = inst.value?.processId;
  const source = useAsync((signal) => (workflowId ? getSource(api, workflowId, signal) : Promise.resolve('')), [api, workflowId]);
  const graph = useMemo(() => {
    if (!source.value) return { graph: undefined, error: undefined };
    try {
      return { graph: parseWorkflowGraph(source.value), error: undefined };
    } catch (e) {
      return { graph: undefined, error: e };
    }
  }, [source.value]);

  if (inst.error && !inst.value) {
    return (
      <Page title="Workflow run">
        <ErrorPanel title="This run could not be read" error={inst.error} onRetry={inst.reload} />
      </Page>
    );
  }
  if (!inst.value) return <Loading />;
  const i = inst.value;
  const name = i.processName || i.processId;
  const result = i.workflowResult;
  return (
    <Page
      title={name}
      subtitle={
        <>
          Run <code>{i.id}</code>
        </>
      }
      actions={<Actions inst={i} onChange={inst.reload} />}
    >
      {inst.error ? <InlineError error={inst.error} /> : null}
      <div className="instance-layout">
        <div className="stack">
          <Card title="Details">
            <dl className="review">
              <div>
                <dt>Status</dt>
                <dd aria-live="polite" data-testid="instance-status">
                  <StatusChip state={i.state} />
                </dd>
              </div>
              <div>
                <dt>Workflow</dt>
                <dd>
                  <Link to={workflowPath(i.processId)}>{name}</Link>
                  {i.category && <span className="muted"> ({i.category})</span>}
                </dd>
              </div>
              <div>
                <dt>Started</dt>
                <dd>{formatTime(i.start) || '—'}</dd>
              </div>
              <div>
                <dt>Ended</dt>
                <dd>{formatTime(i.end) || '—'}</dd>
              </div>
              <div>
                <dt>Duration</dt>
                <dd>{(i.end || running ? durationBetween(i.start, i.end) : '') || i.duration || '—'}</dd>
              </div>
              {i.initiatorEntity && (
                <div>
                  <dt>Started by</dt>
                  <dd>
                    <Link to={entityPath(i.initiatorEntity)}>{humanRef(i.initiatorEntity)}</Link>
                  </dd>
                </div>
              )}
              {i.targetEntity && (
                <div>
                  <dt>For</dt>
                  <dd>
                    <Link to={entityPath(i.targetEntity)}>{humanRef(i.targetEntity)}</Link>
                  </dd>
                </div>
              )}
              {i.assessedBy && (
                <div>
                  <dt>Assessed by</dt>
                  <dd>
                    <Link to={instancePath(i.assessedBy.id)}>{i.assessedBy.processName || i.assessedBy.processId}</Link>{' '}
                    <StatusChip state={i.assessedBy.state} />
                  </dd>
                </div>
              )}
            </dl>
          </Card>
          {i.error && (
            <Card title="Error" className="card-error">
              <p role="alert">
                <strong>Failed in {i.error.nodeDefinitionId || 'an unknown state'}:</strong> {i.error.message}
              </p>
            </Card>
          )}
          <Card title="Result">
            {result ? (
              <ResultView result={result} instanceId={i.id} />
            ) : running ? (
              <p className="muted">The result shows when the run completes.</p>
            ) : (
              <p className="muted">This run has no result.</p>
            )}
            {i.outputSchemaErrors && i.outputSchemaErrors.length > 0 && (
              <details>
                <summary>The output does not match the workflow's output schema</summary>
                <ul>
                  {i.outputSchemaErrors.map((e, k) => (
                    <li key={k}>{e}</li>
                  ))}
                </ul>
              </details>
            )}
          </Card>
          <Card title="Timeline">
            <Timeline nodes={i.nodes ?? []} running={running} />
          </Card>
        </div>
        <div className="stack">
          <Card title="Workflow graph">
            {graph.graph ? (
              <WorkflowGraphView graph={graph.graph} marks={graphMarks(i)} />
            ) : source.error ? (
              <ErrorPanel title="The workflow's source could not be read" error={source.error} onRetry={source.reload} />
            ) : graph.error ? (
              <p className="muted">The graph cannot be drawn: {errorMessage(graph.error)}</p>
            ) : (
              <Loading />
            )}
          </Card>
          <Card title="Variables">
            <details>
              <summary>Workflow data</summary>
              <pre>{JSON.stringify(i.workflowdata ?? {}, null, 2)}</pre>
            </details>
          </Card>
        </div>
      </div>
    </Page>
  );
}

function Timeline({ nodes, running }: { nodes: NodeInstance[]; running: boolean }) {
  // Nodes entered in the same instant keep the engine's order, with the
  // start node first and the end node last.
  const rank = (n: NodeInstance) => (n.type === 'StartNode' ? -1 : n.type === 'EndNode' ? 1 : 0);
  const sorted = [...nodes].sort((a, b) => a.enter.localeCompare(b.enter) || rank(a) - rank(b));
  if (sorted.length === 0) return <p className="muted">No state has run yet.</p>;
  return (
    <ol className="timeline">
      {sorted.map((n) => (
        <li key={n.id} className={n.errorMessage ? 'failed' : !n.exit && running ? 'current' : 'done'}>
          <span className="timeline-name">{n.name}</span> <span className="muted">{n.type}</span>
          <span className="timeline-time muted">
            {formatTime(n.enter)}
            {n.exit ? ` · ${durationBetween(n.enter, n.exit)}` : running ? ' · running' : ''}
          </span>
          {n.errorMessage && <span className="inline-error">{n.errorMessage}</span>}
        </li>
      ))}
    </ol>
  );
}

function Actions({ inst, onChange }: { inst: ProcessInstance; onChange: () => void }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const state = (inst.state ?? '').toUpperCase();
  const act = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="row">
      {error ? <InlineError error={error} /> : null}
      {isRunning(state) && (
        <button
          type="button"
          className="btn btn-danger"
          disabled={busy}
          onClick={() => {
            if (window.confirm('Abort this run? Its remaining states will not run.')) void act(() => abortInstance(api, inst.id));
          }}
        >
          Abort
        </button>
      )}
      {state === 'ERROR' && (
        <button type="button" className="btn" disabled={busy} onClick={() => act(() => retrigger(api, inst.processId, inst.id))}>
          Retrigger
        </button>
      )}
      {!isRunning(state) && (
        <Link className="btn" to={runPath(inst.processId, { instanceId: inst.id })}>
          Run again
        </Link>
      )}
    </div>
  );
}
