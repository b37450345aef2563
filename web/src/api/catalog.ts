// Types and calls of the catalog API (/api/catalog), which is Backstage's.
import type { ApiClient } from './client';

export interface EntityLink {
  url: string;
  title?: string;
  icon?: string;
  type?: string;
}

export interface EntityRelation {
  type: string;
  targetRef: string;
}

export interface EntityStatusItem {
  type: string;
  level: 'info' | 'warning' | 'error' | string;
  message: string;
  error?: { name: string; message: string; cause?: { name?: string; message?: string } };
}

export interface Entity {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    title?: string;
    description?: string;
    uid?: string;
    etag?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    tags?: string[];
    links?: EntityLink[];
  };
  spec?: Record<string, unknown>;
  relations?: EntityRelation[];
  status?: { items?: EntityStatusItem[] };
}

export interface EntitiesPage {
  items: Entity[];
  totalItems: number;
  pageInfo: { nextCursor?: string; prevCursor?: string };
}

export interface Facets {
  facets: Record<string, { value: string; count: number }[]>;
}

/** CompoundRef is an entity reference split into its parts. */
export interface CompoundRef {
  kind: string;
  namespace: string;
  name: string;
}

/**
 * parseRef parses "kind:namespace/name" (kind and namespace optional, with
 * the given defaults), as Backstage's parseEntityRef does.
 */
export function parseRef(ref: string, defaults: { kind?: string; namespace?: string } = {}): CompoundRef {
  let kind = defaults.kind ?? '';
  let namespace = defaults.namespace ?? 'default';
  let rest = ref;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    kind = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
  }
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    namespace = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return { kind, namespace, name: rest };
}

/** stringifyRef renders a ref in Backstage's lower-case-kind form. */
export function stringifyRef(e: CompoundRef): string {
  return `${e.kind.toLocaleLowerCase('en-US')}:${e.namespace || 'default'}/${e.name}`;
}

/** entityRef returns an entity's own ref. */
export function entityRef(e: Entity): string {
  return stringifyRef({ kind: e.kind, namespace: e.metadata.namespace ?? 'default', name: e.metadata.name });
}

/** entityPath is the app path of an entity's page. */
export function entityPath(ref: CompoundRef | string): string {
  const r = typeof ref === 'string' ? parseRef(ref) : ref;
  return `/catalog/${encodeURIComponent(r.namespace || 'default')}/${encodeURIComponent(r.kind.toLocaleLowerCase('en-US'))}/${encodeURIComponent(r.name)}`;
}

/** humanRef shows a ref briefly: the default namespace and an expected kind are left out. */
export function humanRef(ref: string, expectedKind?: string): string {
  const r = parseRef(ref);
  const kind = expectedKind && r.kind.toLowerCase() === expectedKind.toLowerCase() ? '' : r.kind ? `${r.kind.toLowerCase()}:` : '';
  const ns = r.namespace && r.namespace !== 'default' ? `${r.namespace}/` : '';
  return `${kind}${ns}${r.name}`;
}

export interface EntityQuery {
  filter: Record<string, string[]>;
  fullTextFilterTerm?: string;
  fullTextFilterFields?: string[];
  orderField?: string;
  limit?: number;
  cursor?: string;
}

/** filterParam renders a filter as Backstage's filter query parameter (keys AND-ed, values OR-ed). */
export function filterParams(filter: Record<string, string[]>): string[] {
  const parts: string[] = [];
  for (const [key, values] of Object.entries(filter)) {
    for (const v of values) parts.push(`${key}=${v}`);
  }
  return parts.length ? [parts.join(',')] : [];
}

export function queryEntities(api: ApiClient, q: EntityQuery, signal?: AbortSignal): Promise<EntitiesPage> {
  if (q.cursor) {
    return api.get<EntitiesPage>('/api/catalog/entities/by-query', { signal, query: { cursor: q.cursor, limit: q.limit } });
  }
  return api.get<EntitiesPage>('/api/catalog/entities/by-query', {
    signal,
    query: {
      filter: filterParams(q.filter),
      fullTextFilterTerm: q.fullTextFilterTerm,
      fullTextFilterFields: q.fullTextFilterFields?.join(','),
      orderField: q.orderField ?? 'metadata.name,asc',
      limit: q.limit,
    },
  });
}

export function entityFacets(api: ApiClient, facets: string[], filter: Record<string, string[]>, signal?: AbortSignal): Promise<Facets> {
  return api.get<Facets>('/api/catalog/entity-facets', { signal, query: { facet: facets, filter: filterParams(filter) } });
}

export function getEntity(api: ApiClient, ref: CompoundRef, signal?: AbortSignal): Promise<Entity> {
  return api.get<Entity>(
    `/api/catalog/entities/by-name/${encodeURIComponent(ref.kind)}/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.name)}`,
    { signal },
  );
}

export function getEntitiesByRefs(api: ApiClient, refs: string[], signal?: AbortSignal): Promise<{ items: (Entity | null)[] }> {
  return api.post<{ items: (Entity | null)[] }>('/api/catalog/entities/by-refs', { entityRefs: refs }, { signal });
}
