// The template gallery: every Template in the catalog as a card with its
// title, description, tags and owner, searchable and filterable by tag.
import { useApi } from '../../api/auth';
import { entityPath, humanRef, type Entity } from '../../api/catalog';
import { Chip, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, Loading } from '../../components/States';
import { useAsync } from '../../hooks/useAsync';
import { Link, useQueryParams } from '../../router';
import { runPath } from '../workflows/api';
import { listTemplates, templatePath } from './api';
import { CreateTabs } from './Tabs';

function ownerOf(e: Entity): string | undefined {
  const rel = e.relations?.find((r) => r.type === 'ownedBy');
  if (rel) return rel.targetRef;
  const o = e.spec?.owner;
  return typeof o === 'string' ? o : undefined;
}

/**
 * orchestratorWorkflowId tells the orchestrator's own entities (a Template
 * of type "workflow" with no steps, one per deployed workflow) from real
 * templates, and returns the workflow's id.
 */
export function orchestratorWorkflowId(e: Entity): string | undefined {
  const steps = e.spec?.steps;
  if (e.spec?.type !== 'workflow' || (Array.isArray(steps) && steps.length > 0)) return undefined;
  const src = e.metadata.annotations?.['backstage.io/source-location'] ?? '';
  const m = /\/management\/processes\/([^/]+)\/source/.exec(src);
  return m ? decodeURIComponent(m[1]) : e.metadata.name;
}

export function TemplatesPage() {
  const api = useApi();
  const [query, setQuery] = useQueryParams();
  const q = (query.get('q') ?? '').toLowerCase();
  const tag = query.get('tag') ?? '';
  const list = useAsync((signal) => listTemplates(api, signal), [api]);
  const all = list.value?.items ?? [];
  const tags = [...new Set(all.flatMap((t) => t.metadata.tags ?? []))].sort();
  const shown = all.filter(
    (t) =>
      (!tag || (t.metadata.tags ?? []).includes(tag)) &&
      (!q || `${t.metadata.title ?? ''} ${t.metadata.name} ${t.metadata.description ?? ''}`.toLowerCase().includes(q)),
  );
  return (
    <Page title="Create" subtitle="Create new software from your organisation's templates">
      <CreateTabs current="templates" />
      <div className="toolbar">
        <label htmlFor="tpl-search" className="sr-only">
          Search templates
        </label>
        <input id="tpl-search" type="search" placeholder="Search templates" value={query.get('q') ?? ''} onChange={(e) => setQuery({ q: e.target.value || null })} />
        <label htmlFor="tpl-tag">Tag</label>
        <select id="tpl-tag" value={tag} onChange={(e) => setQuery({ tag: e.target.value || null })}>
          <option value="">Any</option>
          {tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </div>
      {list.error ? (
        <ErrorPanel title="The templates could not be read" error={list.error} onRetry={list.reload} />
      ) : !list.value ? (
        <Loading />
      ) : shown.length === 0 ? (
        <EmptyState title={all.length ? 'No template matches' : 'No templates yet'}>
          {all.length ? 'Try another search or tag.' : 'Register Template entities in the catalog to see them here.'}
        </EmptyState>
      ) : (
        <ul className="template-grid">
          {shown.map((t) => {
            const ns = t.metadata.namespace ?? 'default';
            const owner = ownerOf(t);
            const title = t.metadata.title ?? t.metadata.name;
            // The orchestrator lists each workflow as a Template of type
            // "workflow": choosing one opens the workflow's run page.
            const workflowId = orchestratorWorkflowId(t);
            const to = workflowId ? runPath(workflowId) : templatePath(ns, t.metadata.name);
            return (
              <li key={`${ns}/${t.metadata.name}`} className="card template-card" data-template={t.metadata.name}>
                <div className="card-body">
                  <div className="template-type muted">{String(t.spec?.type ?? 'template')}</div>
                  <h2>{title}</h2>
                  <p>{t.metadata.description ?? <span className="muted">No description.</span>}</p>
                  {(t.metadata.tags ?? []).length > 0 && (
                    <div className="row">
                      {(t.metadata.tags ?? []).map((x) => (
                        <Chip key={x}>{x}</Chip>
                      ))}
                    </div>
                  )}
                </div>
                <footer className="template-footer">
                  <span className="muted">
                    {owner ? (
                      <>
                        Owner: <Link to={entityPath(owner)}>{humanRef(owner, 'group')}</Link>
                      </>
                    ) : (
                      'No owner'
                    )}
                  </span>
                  <Link className="btn btn-primary" to={to} aria-label={`Choose ${title}`}>
                    Choose
                  </Link>
                </footer>
              </li>
            );
          })}
        </ul>
      )}
    </Page>
  );
}
