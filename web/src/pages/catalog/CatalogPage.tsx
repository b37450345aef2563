// The catalog's entity table with Backstage's filters (kind, type, owner,
// lifecycle, tags, namespace) and their counts, full-text search and
// cursor paging on the server.
import { useEffect, useMemo, useState } from 'react';
import { useApi } from '../../api/auth';
import {
  entityFacets,
  entityPath,
  humanRef,
  queryEntities,
  type EntitiesPage,
  type Entity,
  type EntityQuery,
} from '../../api/catalog';
import { FacetFilter, type FacetValue } from '../../components/FacetFilter';
import { Chip, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, Loading } from '../../components/States';
import { useAsync } from '../../hooks/useAsync';
import { useDebounced } from '../../hooks/useDebounced';
import { Link, useQueryParams } from '../../router';

/** The multi-value filters: the URL parameter, the catalog's filter key, the label. */
export const facetDefs = [
  { param: 'type', key: 'spec.type', label: 'Type' },
  { param: 'owner', key: 'relations.ownedBy', label: 'Owner', display: (v: string) => humanRef(v, 'group') },
  { param: 'lifecycle', key: 'spec.lifecycle', label: 'Lifecycle' },
  { param: 'tag', key: 'metadata.tags', label: 'Tags' },
  { param: 'namespace', key: 'metadata.namespace', label: 'Namespace' },
] as const;

const pageSize = 20;
const searchFields = ['metadata.name', 'metadata.title', 'metadata.description'];

/** catalogFilter builds the catalog filter from the page's URL parameters. */
export function catalogFilter(query: URLSearchParams, except?: string): Record<string, string[]> {
  const filter: Record<string, string[]> = {};
  const kind = query.get('kind') ?? 'component';
  if (kind !== 'all' && except !== 'kind') filter.kind = [kind];
  for (const f of facetDefs) {
    const values = query.getAll(f.param);
    if (values.length && except !== f.key) filter[f.key] = values;
  }
  return filter;
}

/**
 * loadFacets counts each facet's values under the other filters, so that a
 * count says how many entities ticking that value would add.
 */
async function loadFacets(api: ReturnType<typeof useApi>, query: URLSearchParams, signal: AbortSignal) {
  const keys = ['kind', ...facetDefs.map((f) => f.key)];
  const full = catalogFilter(query);
  const active = keys.filter((k) => k in full);
  const inactive = keys.filter((k) => !(k in full));
  const calls: Promise<Record<string, FacetValue[]>>[] = [];
  if (inactive.length) calls.push(entityFacets(api, inactive, full, signal).then((r) => r.facets));
  for (const k of active) calls.push(entityFacets(api, [k], catalogFilter(query, k), signal).then((r) => r.facets));
  const results = await Promise.all(calls);
  return Object.assign({}, ...results) as Record<string, FacetValue[]>;
}

export function CatalogPage() {
  const api = useApi();
  const [query, setQuery] = useQueryParams();
  const [search, setSearch] = useState(query.get('q') ?? '');
  const term = useDebounced(search.trim(), 300);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [pageIndex, setPageIndex] = useState(0);

  useEffect(() => {
    if ((query.get('q') ?? '') !== term) setQuery({ q: term || null });
  }, [term, query, setQuery]);

  const filterKey = useMemo(() => {
    const q = new URLSearchParams(query);
    q.delete('q');
    return q.toString();
  }, [query]);

  // A new filter or search starts again at the first page.
  useEffect(() => {
    setCursor(undefined);
    setPageIndex(0);
  }, [filterKey, term]);

  const entities = useAsync<EntitiesPage>(
    (signal) => {
      const q: EntityQuery = {
        filter: catalogFilter(query),
        fullTextFilterTerm: term || undefined,
        fullTextFilterFields: term ? searchFields : undefined,
        orderField: 'metadata.name,asc',
        limit: pageSize,
        cursor,
      };
      return queryEntities(api, q, signal);
    },
    [api, filterKey, term, cursor],
  );
  const facets = useAsync((signal) => loadFacets(api, query, signal), [api, filterKey]);

  const kind = query.get('kind') ?? 'component';
  const kindCounts = facets.value?.kind ?? [];
  const anyFilter = facetDefs.some((f) => query.getAll(f.param).length > 0) || term !== '';

  return (
    <Page title="Catalog" subtitle="Everything your organisation owns: components, APIs, resources, systems, groups and people.">
      <div className="catalog-layout">
        <aside className="filters" aria-label="Filters">
          <div className="field">
            <label htmlFor="catalog-kind">Kind</label>
            <select id="catalog-kind" value={kind} onChange={(e) => setQuery({ kind: e.target.value === 'component' ? null : e.target.value })}>
              <option value="all">All kinds</option>
              {!kindCounts.some((k) => k.value.toLowerCase() === kind) && kind !== 'all' && <option value={kind}>{kind}</option>}
              {kindCounts.map((k) => (
                <option key={k.value} value={k.value.toLowerCase()}>
                  {k.value} ({k.count})
                </option>
              ))}
            </select>
          </div>
          {facets.error ? <ErrorPanel title="Filters unavailable" error={facets.error} onRetry={facets.reload} /> : null}
          {facetDefs.map((f) => (
            <FacetFilter
              key={f.param}
              label={f.label}
              values={facets.value?.[f.key] ?? []}
              selected={query.getAll(f.param)}
              display={'display' in f ? f.display : undefined}
              onChange={(values) => setQuery({ [f.param]: values })}
            />
          ))}
          {anyFilter && (
            <button
              type="button"
              className="btn btn-small"
              onClick={() => {
                setSearch('');
                setQuery(Object.fromEntries([...facetDefs.map((f) => [f.param, null]), ['q', null]]));
              }}
            >
              Clear filters
            </button>
          )}
        </aside>
        <div className="catalog-main">
          <div className="toolbar">
            <label htmlFor="catalog-search" className="sr-only">
              Search the catalog
            </label>
            <input
              id="catalog-search"
              type="search"
              placeholder="Search by name, title or description"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
            {entities.value && (
              <span className="muted" aria-live="polite">
                {entities.value.totalItems === 0
                  ? 'No entities'
                  : `${pageIndex * pageSize + 1}–${pageIndex * pageSize + entities.value.items.length} of ${entities.value.totalItems}`}
              </span>
            )}
          </div>
          {entities.error ? (
            <ErrorPanel title="The catalog could not be read" error={entities.error} onRetry={entities.reload} />
          ) : !entities.value ? (
            <Loading />
          ) : entities.value.items.length === 0 ? (
            <EmptyState title="No entities match">
              {anyFilter ? 'Try fewer filters or another search.' : `There are no entities of kind ${kind} yet.`}
            </EmptyState>
          ) : (
            <EntityTable entities={entities.value.items} showKind={kind === 'all'} busy={entities.loading} />
          )}
          {entities.value && (entities.value.pageInfo.prevCursor || entities.value.pageInfo.nextCursor) && (
            <nav className="pager" aria-label="Pages">
              <button
                type="button"
                className="btn"
                disabled={!entities.value.pageInfo.prevCursor}
                onClick={() => {
                  setCursor(entities.value?.pageInfo.prevCursor);
                  setPageIndex((i) => Math.max(0, i - 1));
                }}
              >
                Previous
              </button>
              <button
                type="button"
                className="btn"
                disabled={!entities.value.pageInfo.nextCursor}
                onClick={() => {
                  setCursor(entities.value?.pageInfo.nextCursor);
                  setPageIndex((i) => i + 1);
                }}
              >
                Next
              </button>
            </nav>
          )}
        </div>
      </div>
    </Page>
  );
}

function ownerOf(e: Entity): string | undefined {
  return e.relations?.find((r) => r.type === 'ownedBy')?.targetRef ?? (typeof e.spec?.owner === 'string' ? e.spec.owner : undefined);
}

/** EntityTable lists entities with links to their pages. */
export function EntityTable({ entities, showKind, busy }: { entities: Entity[]; showKind: boolean; busy?: boolean }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-busy={busy || undefined}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            {showKind && <th scope="col">Kind</th>}
            <th scope="col">Type</th>
            <th scope="col">Owner</th>
            <th scope="col">System</th>
            <th scope="col">Lifecycle</th>
            <th scope="col">Description</th>
            <th scope="col">Tags</th>
          </tr>
        </thead>
        <tbody>
          {entities.map((e) => {
            const owner = ownerOf(e);
            const system = typeof e.spec?.system === 'string' ? e.spec.system : undefined;
            const ns = e.metadata.namespace ?? 'default';
            return (
              <tr key={e.metadata.uid ?? `${e.kind}:${ns}/${e.metadata.name}`}>
                <td>
                  <Link to={entityPath({ kind: e.kind, namespace: ns, name: e.metadata.name })}>{e.metadata.title ?? e.metadata.name}</Link>
                  {ns !== 'default' && <span className="muted"> ({ns})</span>}
                </td>
                {showKind && <td>{e.kind}</td>}
                <td>{typeof e.spec?.type === 'string' ? e.spec.type : ''}</td>
                <td>{owner && <Link to={entityPath(owner.includes(':') ? owner : `group:${ns}/${owner}`)}>{humanRef(owner, 'group')}</Link>}</td>
                <td>{system && <Link to={entityPath(`system:${system.includes('/') ? system : `${ns}/${system}`}`)}>{system}</Link>}</td>
                <td>{typeof e.spec?.lifecycle === 'string' ? e.spec.lifecycle : ''}</td>
                <td className="description">{e.metadata.description}</td>
                <td>
                  {(e.metadata.tags ?? []).map((t) => (
                    <Chip key={t}>{t}</Chip>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
