// An entity's page: about card, relations graph, processing errors, the
// API definition for API entities, and the workflow runs started for it.
import { useApi } from '../../api/auth';
import { ApiError } from '../../api/client';
import { entityPath, entityRef, getEntity, humanRef, type Entity } from '../../api/catalog';
import { annotationWorkflowIds, instancePath, instancesForEntity, runPath, stateTone, workflowsForEntity } from '../../api/orchestrator';
import { Card, Chip, Page } from '../../components/Page';
import { RelationsGraph } from '../../components/RelationsGraph';
import { EmptyState, ErrorPanel, Loading } from '../../components/States';
import { useAsync } from '../../hooks/useAsync';
import { Link } from '../../router';
import { formatTime } from '../../format';

export function EntityPage({ namespace, kind, name }: { namespace: string; kind: string; name: string }) {
  const api = useApi();
  const entity = useAsync((signal) => getEntity(api, { kind, namespace, name }, signal), [api, kind, namespace, name]);
  if (entity.error) {
    return (
      <Page title={name} subtitle={<Link to="/catalog">Back to the catalog</Link>}>
        <ErrorPanel
          title={entity.error instanceof ApiError && entity.error.status === 404 ? 'No such entity' : 'The entity could not be read'}
          error={entity.error}
          onRetry={entity.reload}
        />
      </Page>
    );
  }
  if (!entity.value) return <Loading />;
  return <EntityView entity={entity.value} />;
}

function refLink(ref: string, defaultKind: string, namespace: string) {
  const full = ref.includes(':') ? ref : `${defaultKind}:${ref.includes('/') ? ref : `${namespace}/${ref}`}`;
  return <Link to={entityPath(full)}>{humanRef(full, defaultKind)}</Link>;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function EntityView({ entity }: { entity: Entity }) {
  const ref = entityRef(entity);
  const ns = entity.metadata.namespace ?? 'default';
  const spec = entity.spec ?? {};
  const owner = entity.relations?.find((r) => r.type === 'ownedBy')?.targetRef ?? str(spec.owner);
  const problems = (entity.status?.items ?? []).filter((i) => i.level === 'error' || i.level === 'warning');
  return (
    <Page
      title={entity.metadata.title ?? entity.metadata.name}
      subtitle={
        <span className="row">
          <Link to="/catalog">Catalog</Link>
          <span aria-hidden="true">/</span>
          <Chip tone="info">{entity.kind}</Chip>
          {str(spec.type) && <Chip>{str(spec.type)}</Chip>}
          {str(spec.lifecycle) && <Chip>{str(spec.lifecycle)}</Chip>}
          <code>{ref}</code>
        </span>
      }
    >
      <div className="stack">
        {problems.length > 0 && (
          <section className="state state-error" role="alert" aria-labelledby="processing-errors">
            <p className="state-title" id="processing-errors">
              {problems.length === 1 ? 'This entity has a processing error' : `This entity has ${problems.length} processing errors`}
            </p>
            <ul>
              {problems.map((p, i) => (
                <li key={i}>
                  {p.error?.name && <strong>{p.error.name}: </strong>}
                  {p.error?.message ?? p.message}
                  {p.error?.cause?.message && <span className="muted"> (cause: {p.error.cause.message})</span>}
                </li>
              ))}
            </ul>
            <p className="muted">The catalog keeps serving the last good version of the entity until the source is fixed.</p>
          </section>
        )}
        <div className="grid-2">
          <Card title="About">
            <p>{entity.metadata.description ?? <span className="muted">No description.</span>}</p>
            <dl className="props">
              <dt>Owner</dt>
              <dd>{owner ? refLink(owner, 'group', ns) : <span className="muted">No owner</span>}</dd>
              {str(spec.system) && (
                <>
                  <dt>System</dt>
                  <dd>{refLink(str(spec.system)!, 'system', ns)}</dd>
                </>
              )}
              {str(spec.domain) && (
                <>
                  <dt>Domain</dt>
                  <dd>{refLink(str(spec.domain)!, 'domain', ns)}</dd>
                </>
              )}
              {str(spec.type) && (
                <>
                  <dt>Type</dt>
                  <dd>{str(spec.type)}</dd>
                </>
              )}
              {str(spec.lifecycle) && (
                <>
                  <dt>Lifecycle</dt>
                  <dd>{str(spec.lifecycle)}</dd>
                </>
              )}
              <dt>Tags</dt>
              <dd>{entity.metadata.tags?.length ? entity.metadata.tags.map((t) => <Chip key={t}>{t}</Chip>) : <span className="muted">No tags</span>}</dd>
            </dl>
            {entity.metadata.links && entity.metadata.links.length > 0 && (
              <>
                <h3 className="subheading">Links</h3>
                <ul className="links">
                  {entity.metadata.links.map((l) => (
                    <li key={l.url}>
                      <a href={l.url} target="_blank" rel="noreferrer noopener">
                        {l.title ?? l.url}
                      </a>
                      {l.type && <span className="muted"> ({l.type})</span>}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </Card>
          <Card title="Relations">
            {entity.relations && entity.relations.length > 0 ? (
              <>
                <RelationsGraph entityRef={ref} relations={entity.relations} />
                <details>
                  <summary>As a list</summary>
                  <ul className="links">
                    {entity.relations.map((r) => (
                      <li key={`${r.type}-${r.targetRef}`}>
                        {r.type} <Link to={entityPath(r.targetRef)}>{r.targetRef}</Link>
                      </li>
                    ))}
                  </ul>
                </details>
              </>
            ) : (
              <EmptyState title="No relations" />
            )}
          </Card>
        </div>
        {entity.kind.toLowerCase() === 'api' && <ApiDefinition entity={entity} />}
        <EntityWorkflows entityRef={ref} ids={annotationWorkflowIds(entity.metadata.annotations)} />
        <WorkflowRuns entityRef={ref} />
        <Annotations entity={entity} />
      </div>
    </Page>
  );
}

/** operations lists an OpenAPI document's "METHOD /path  summary" lines, read from YAML or JSON text. */
export function operations(definition: string): { method: string; path: string; summary?: string }[] {
  const out: { method: string; path: string; summary?: string }[] = [];
  try {
    const doc = JSON.parse(definition) as { paths?: Record<string, Record<string, { summary?: string }>> };
    for (const [path, ops] of Object.entries(doc.paths ?? {})) {
      for (const [method, op] of Object.entries(ops ?? {})) {
        if (/^(get|put|post|delete|patch|head|options)$/.test(method)) out.push({ method: method.toUpperCase(), path, summary: op?.summary });
      }
    }
    return out;
  } catch {
    // YAML: read the indentation under "paths:".
  }
  const lines = definition.split('\n');
  let inPaths = false;
  let path = '';
  let pathIndent = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^paths:\s*$/.test(line)) {
      inPaths = true;
      continue;
    }
    if (!inPaths) continue;
    if (/^\S/.test(line)) break;
    const p = /^(\s+)(['"]?)(\/[^'":]*)\2:\s*$/.exec(line);
    if (p && (pathIndent < 0 || p[1].length === pathIndent)) {
      pathIndent = p[1].length;
      path = p[3];
      continue;
    }
    const m = /^(\s+)(get|put|post|delete|patch|head|options):\s*$/.exec(line);
    if (m && path && m[1].length > pathIndent) {
      let summary: string | undefined;
      for (let j = i + 1; j < lines.length && /^\s/.test(lines[j]) && (lines[j].length - lines[j].trimStart().length) > m[1].length; j++) {
        const s = /^\s+summary:\s*(.+)$/.exec(lines[j]);
        if (s) {
          summary = s[1].replace(/^['"]|['"]$/g, '');
          break;
        }
      }
      out.push({ method: m[2].toUpperCase(), path, summary });
    }
  }
  return out;
}

function ApiDefinition({ entity }: { entity: Entity }) {
  const definition = str(entity.spec?.definition);
  const type = str(entity.spec?.type) ?? 'unknown';
  const ops = definition && type === 'openapi' ? operations(definition) : [];
  return (
    <Card title="API definition" actions={<Chip tone="info">{type}</Chip>}>
      {!definition ? (
        <EmptyState title="This API has no definition." />
      ) : (
        <>
          {ops.length > 0 && (
            <table className="table operations">
              <caption className="sr-only">Operations</caption>
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  <th scope="col">Path</th>
                  <th scope="col">Summary</th>
                </tr>
              </thead>
              <tbody>
                {ops.map((o) => (
                  <tr key={`${o.method} ${o.path}`}>
                    <td>
                      <code className={`method method-${o.method.toLowerCase()}`}>{o.method}</code>
                    </td>
                    <td>
                      <code>{o.path}</code>
                    </td>
                    <td>{o.summary}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <details open={ops.length === 0}>
            <summary>Raw definition</summary>
            <pre className="definition">{definition}</pre>
          </details>
        </>
      )}
    </Card>
  );
}

/**
 * EntityWorkflows lists the workflows the entity names in its
 * orchestrator.io/workflows annotation or has run, each with a Run button
 * that starts it for this entity. Nothing shows when there are none.
 */
function EntityWorkflows({ entityRef: ref, ids }: { entityRef: string; ids: string[] }) {
  const api = useApi();
  const key = ids.join(',');
  const list = useAsync((signal) => workflowsForEntity(api, ref, ids, signal), [api, ref, key]);
  const missing = list.error instanceof ApiError && (list.error.status === 404 || list.error.status === 501);
  const overviews = list.value?.overviews ?? [];
  if (missing || (list.value && overviews.length === 0) || (!list.value && !list.error)) return null;
  return (
    <Card title="Workflows">
      {list.error ? (
        <ErrorPanel title="The workflows could not be read" error={list.error} onRetry={list.reload} />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Workflow</th>
              <th scope="col">Type</th>
              <th scope="col">Last run here</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {overviews.map((w) => (
              <tr key={w.workflowId}>
                <td>
                  <Link to={`/workflows/${encodeURIComponent(w.workflowId)}`}>{w.name ?? w.workflowId}</Link>
                  {w.description && <div className="muted">{w.description}</div>}
                </td>
                <td>{w.category}</td>
                <td>
                  {w.lastRunId ? (
                    <Link to={instancePath(w.lastRunId)}>
                      <Chip tone={stateTone(w.lastRunStatus)}>{w.lastRunStatus ?? 'unknown'}</Chip>
                    </Link>
                  ) : (
                    <span className="muted">Never</span>
                  )}
                  {w.lastTriggeredMs ? <span className="muted"> {formatTime(new Date(w.lastTriggeredMs).toISOString())}</span> : null}
                </td>
                <td>
                  {w.isAvailable === false ? (
                    <span className="muted">Unavailable</span>
                  ) : (
                    <Link to={runPath(w.workflowId, ref)} className="btn btn-small" aria-label={`Run ${w.name ?? w.workflowId} for this entity`}>
                      Run
                    </Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function WorkflowRuns({ entityRef: ref }: { entityRef: string }) {
  const api = useApi();
  const runs = useAsync((signal) => instancesForEntity(api, ref, 10, signal), [api, ref]);
  const missing = runs.error instanceof ApiError && (runs.error.status === 404 || runs.error.status === 501);
  return (
    <Card title="Workflow runs" actions={<Link to="/workflows">All workflows</Link>}>
      {missing ? (
        <EmptyState title="Workflow runs are not available">This server does not offer the orchestrator API.</EmptyState>
      ) : runs.error ? (
        <ErrorPanel title="The workflow runs could not be read" error={runs.error} onRetry={runs.reload} />
      ) : !runs.value ? (
        <Loading />
      ) : (runs.value.items ?? []).length === 0 ? (
        <EmptyState title="No workflow has run for this entity yet." />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Workflow</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Started by</th>
            </tr>
          </thead>
          <tbody>
            {(runs.value.items ?? []).map((i) => (
              <tr key={i.id}>
                <td>
                  <Link to={instancePath(i.id)}>{i.processName ?? i.processId}</Link>
                </td>
                <td>
                  <Chip tone={stateTone(i.state)}>{i.state ?? 'unknown'}</Chip>
                </td>
                <td>{formatTime(i.start)}</td>
                <td>{i.duration ?? ''}</td>
                <td>{i.initiatorEntity ? humanRef(i.initiatorEntity, 'user') : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function Annotations({ entity }: { entity: Entity }) {
  const annotations = Object.entries(entity.metadata.annotations ?? {});
  const labels = Object.entries(entity.metadata.labels ?? {});
  if (annotations.length === 0 && labels.length === 0) return null;
  return (
    <Card title="Annotations and labels">
      <dl className="props">
        {labels.map(([k, v]) => (
          <div key={`l-${k}`} className="contents">
            <dt>{k}</dt>
            <dd>
              <code>{v}</code>
            </dd>
          </div>
        ))}
        {annotations.map(([k, v]) => (
          <div key={`a-${k}`} className="contents">
            <dt>{k}</dt>
            <dd>{/^https?:\/\//.test(v) ? <a href={v} target="_blank" rel="noreferrer noopener">{v}</a> : <code>{v}</code>}</dd>
          </div>
        ))}
      </dl>
    </Card>
  );
}
