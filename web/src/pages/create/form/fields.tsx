// Backstage's scaffolder field extensions as rjsf custom fields, so that
// templates written for Backstage render here unchanged: EntityPicker,
// OwnerPicker, EntityNamePicker, EntityTagsPicker, RepoUrlPicker and
// Secret. Each renders its own label (rjsf leaves labels to custom fields).
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { FieldProps, RegistryFieldsType } from '@rjsf/utils';
import { entityRef, filterParams, humanRef, type Entity } from '../../../api/catalog';
import type { ApiClient } from '../../../api/client';

/** FormContext is what the custom fields need from the page. */
export interface FormContext {
  api?: ApiClient;
  userRef?: string;
  /** setSecret records a Secret field's value outside the form data. */
  setSecret?: (name: string, value: string) => void;
  secrets?: Record<string, string>;
}

function options(props: FieldProps): Record<string, unknown> {
  const o = (props.uiSchema?.['ui:options'] ?? {}) as Record<string, unknown>;
  return o;
}

/**
 * FieldFrame is the label, description and control of one field; rjsf's
 * field template around it shows the field's errors.
 */
function FieldFrame({ props, children, htmlFor }: { props: FieldProps; children: ReactNode; htmlFor?: string }) {
  const title = (props.uiSchema?.['ui:title'] as string) ?? (props.schema.title as string) ?? props.name;
  const description = (props.uiSchema?.['ui:description'] as string) ?? (props.schema.description as string | undefined);
  const id = htmlFor ?? props.fieldPathId.$id;
  const errors = props.rawErrors ?? [];
  return (
    <div className={`custom-field ${errors.length ? 'has-error' : ''}`}>
      <label htmlFor={id} className="control-label">
        {title}
        {props.required ? <span className="required">*</span> : null}
      </label>
      {description && (
        <p id={`${id}__description`} className="field-description">
          {description}
        </p>
      )}
      {children}
    </div>
  );
}

/** useCatalogOptions reads entity refs for a picker's suggestions. */
function useCatalogOptions(ctx: FormContext, filter: Record<string, string[]>[], enabled = true): Entity[] {
  const [items, setItems] = useState<Entity[]>([]);
  const key = JSON.stringify(filter);
  useEffect(() => {
    if (!ctx.api || !enabled) return;
    const ctrl = new AbortController();
    const api = ctx.api;
    Promise.all(
      filter.map((f) =>
        api
          .get<{ items: Entity[] }>('/api/catalog/entities/by-query', {
            signal: ctrl.signal,
            query: { filter: filterParams(f), limit: 200, orderField: 'metadata.name,asc' },
          })
          .then((r) => r.items ?? []),
      ),
    ).then(
      (lists) => setItems(lists.flat()),
      () => setItems([]),
    );
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ctx.api, key, enabled]);
  return items;
}

/** catalogFilters reads ui:options.catalogFilter (one or a list) and allowedKinds as catalog filters. */
function catalogFilters(o: Record<string, unknown>, defaultKinds?: string[]): Record<string, string[]>[] {
  const raw = o.catalogFilter;
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? [raw] : [];
  const filters = list.map((f) => {
    const out: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(f as Record<string, unknown>)) {
      if (Array.isArray(v)) out[k] = v.map(String);
      else if (v !== null && typeof v === 'object') continue; // { exists: true } forms are not filtered here
      else out[k] = [String(v)];
    }
    return out;
  });
  const kinds = (o.allowedKinds as string[] | undefined) ?? defaultKinds;
  if (filters.length === 0) return [kinds ? { kind: kinds } : {}];
  return kinds ? filters.map((f) => ({ kind: kinds, ...f })) : filters;
}

function EntityPickerBase(props: FieldProps, defaultKinds?: string[]) {
  const ctx = (props.registry.formContext ?? {}) as FormContext;
  const o = options(props);
  const filters = useMemo(() => catalogFilters(o, defaultKinds), [JSON.stringify(o)]); // eslint-disable-line react-hooks/exhaustive-deps
  const entities = useCatalogOptions(ctx, filters);
  const id = props.fieldPathId.$id;
  const listId = `${id}__options`;
  const value = typeof props.formData === 'string' ? props.formData : '';
  return (
    <FieldFrame props={props}>
      <input
        id={id}
        type="text"
        list={listId}
        value={value}
        autoComplete="off"
        required={props.required}
        disabled={props.disabled || props.readonly}
        aria-describedby={`${id}__description`}
        placeholder={o.defaultKind ? `${String(o.defaultKind).toLowerCase()}:name` : 'kind:namespace/name'}
        onChange={(e) => props.onChange(e.target.value || undefined, props.fieldPathId.path)}
        onBlur={() => props.onBlur(id, value)}
      />
      <datalist id={listId}>
        {entities.map((e) => {
          const ref = entityRef(e);
          return (
            <option key={ref} value={ref}>
              {e.metadata.title ?? humanRef(ref)}
            </option>
          );
        })}
      </datalist>
    </FieldFrame>
  );
}

/** EntityPicker picks an entity ref from the catalog (ui:options allowedKinds, catalogFilter). */
export function EntityPicker(props: FieldProps) {
  return EntityPickerBase(props);
}

/** OwnerPicker picks a Group or User as an owner. */
export function OwnerPicker(props: FieldProps) {
  return EntityPickerBase(props, ['Group', 'User']);
}

/** entityNameProblem says why a name is not a valid entity name, or "" when it is. */
export function entityNameProblem(name: string): string {
  if (name.length > 63) return 'must be at most 63 characters long';
  if (!/^([a-zA-Z0-9]+[-_.])*[a-zA-Z0-9]+$/.test(name)) {
    return 'must start and end with a letter or digit and contain only letters, digits, hyphens, underscores and periods';
  }
  return '';
}

/** EntityNamePicker is a text field for an entity name (checked by the form's validation). */
export function EntityNamePicker(props: FieldProps) {
  const id = props.fieldPathId.$id;
  const value = typeof props.formData === 'string' ? props.formData : '';
  return (
    <FieldFrame props={props}>
      <input
        id={id}
        type="text"
        value={value}
        required={props.required}
        autoFocus={props.autofocus || props.uiSchema?.['ui:autofocus'] === true}
        disabled={props.disabled || props.readonly}
        aria-describedby={`${id}__description`}
        onChange={(e) => props.onChange(e.target.value || undefined, props.fieldPathId.path)}
        onBlur={() => props.onBlur(id, value)}
      />
    </FieldFrame>
  );
}

/** EntityTagsPicker edits a list of tags, suggesting those in use in the catalog. */
export function EntityTagsPicker(props: FieldProps) {
  const ctx = (props.registry.formContext ?? {}) as FormContext;
  const id = props.fieldPathId.$id;
  const tags: string[] = Array.isArray(props.formData) ? (props.formData as string[]) : [];
  const [draft, setDraft] = useState('');
  const [known, setKnown] = useState<string[]>([]);
  const suggestions = (options(props).helperText as string | undefined) ?? undefined;
  useEffect(() => {
    if (!ctx.api) return;
    const ctrl = new AbortController();
    ctx.api
      .get<{ facets: Record<string, { value: string }[]> }>('/api/catalog/entity-facets', { signal: ctrl.signal, query: { facet: 'metadata.tags' } })
      .then((r) => setKnown((r.facets['metadata.tags'] ?? []).map((f) => f.value)), () => setKnown([]));
    return () => ctrl.abort();
  }, [ctx.api]);
  const add = (raw: string) => {
    const next = raw
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t && !tags.includes(t));
    if (next.length) props.onChange([...tags, ...next], props.fieldPathId.path);
    setDraft('');
  };
  return (
    <FieldFrame props={props}>
      <div className="tags-input">
        {tags.map((t) => (
          <span key={t} className="chip chip-info">
            {t}
            <button
              type="button"
              className="chip-remove"
              aria-label={`Remove tag ${t}`}
              onClick={() => props.onChange(tags.filter((x) => x !== t), props.fieldPathId.path)}
            >
              ×
            </button>
          </span>
        ))}
        <input
          id={id}
          type="text"
          list={`${id}__options`}
          value={draft}
          placeholder="Type a tag and press Enter"
          disabled={props.disabled || props.readonly}
          onChange={(e) => (e.target.value.endsWith(',') ? add(e.target.value) : setDraft(e.target.value))}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              add(draft);
            }
          }}
          onBlur={() => draft && add(draft)}
        />
        <datalist id={`${id}__options`}>
          {known.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
      </div>
      {suggestions && <p className="field-description">{suggestions}</p>}
    </FieldFrame>
  );
}

/** parseRepoUrl reads "host?owner=o&repo=r" (RepoUrlPicker's value). */
export function parseRepoUrl(value: string | undefined): { host: string; owner: string; repo: string } {
  if (!value) return { host: '', owner: '', repo: '' };
  const q = value.indexOf('?');
  const host = q >= 0 ? value.slice(0, q) : value;
  const params = new URLSearchParams(q >= 0 ? value.slice(q + 1) : '');
  return { host, owner: params.get('owner') ?? params.get('organization') ?? '', repo: params.get('repo') ?? '' };
}

/** formatRepoUrl is the inverse of parseRepoUrl. */
export function formatRepoUrl(p: { host: string; owner: string; repo: string }): string {
  const params = new URLSearchParams();
  if (p.owner) params.set('owner', p.owner);
  if (p.repo) params.set('repo', p.repo);
  return `${p.host}?${params.toString()}`;
}

/** RepoUrlPicker picks a host, an owner and a repository name (ui:options allowedHosts, allowedOwners, allowedRepos). */
export function RepoUrlPicker(props: FieldProps) {
  const o = options(props);
  const id = props.fieldPathId.$id;
  const hosts = (o.allowedHosts as string[] | undefined) ?? [];
  const owners = (o.allowedOwners as string[] | undefined) ?? [];
  const repos = (o.allowedRepos as string[] | undefined) ?? [];
  const current = parseRepoUrl(typeof props.formData === 'string' ? props.formData : undefined);
  const v = { ...current, host: current.host || hosts[0] || '' };
  const set = (patch: Partial<typeof v>) => props.onChange(formatRepoUrl({ ...v, ...patch }), props.fieldPathId.path);
  // Store the first allowed host at once, so that a form whose only
  // choice is the default still has a value to validate.
  useEffect(() => {
    if (!current.host && hosts[0]) set({ host: hosts[0] });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const select = (name: 'host' | 'owner' | 'repo', label: string, allowed: string[]) => (
    <div className="repo-part">
      <label htmlFor={`${id}-${name}`}>{label}</label>
      {allowed.length > 0 ? (
        <select id={`${id}-${name}`} value={v[name]} disabled={props.disabled || props.readonly} onChange={(e) => set({ [name]: e.target.value })}>
          {!allowed.includes(v[name]) && <option value="">Choose…</option>}
          {allowed.map((h) => (
            <option key={h} value={h}>
              {h}
            </option>
          ))}
        </select>
      ) : (
        <input id={`${id}-${name}`} type="text" value={v[name]} disabled={props.disabled || props.readonly} onChange={(e) => set({ [name]: e.target.value.trim() })} />
      )}
    </div>
  );
  return (
    <FieldFrame props={props} htmlFor={`${id}-host`}>
      <div className="repo-url" id={id}>
        {select('host', 'Host', hosts)}
        {select('owner', 'Owner', owners)}
        {select('repo', 'Repository', repos)}
      </div>
    </FieldFrame>
  );
}

/**
 * Secret is a password field whose value goes to the task's secrets, never
 * to its parameters: the form data keeps only a mask of the same length.
 */
export function Secret(props: FieldProps) {
  const ctx = (props.registry.formContext ?? {}) as FormContext;
  const id = props.fieldPathId.$id;
  const [value, setValue] = useState(ctx.secrets?.[props.name] ?? '');
  // A mask without its secret (answers carried over from an earlier task)
  // must be typed again.
  useEffect(() => {
    if (!value && props.formData) props.onChange(undefined, props.fieldPathId.path);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <FieldFrame props={props}>
      <input
        id={id}
        type="password"
        autoComplete="off"
        value={value}
        required={props.required}
        disabled={props.disabled || props.readonly}
        onChange={(e) => {
          setValue(e.target.value);
          ctx.setSecret?.(props.name, e.target.value);
          props.onChange(e.target.value ? '*'.repeat(e.target.value.length) : undefined, props.fieldPathId.path);
        }}
      />
    </FieldFrame>
  );
}

/** backstageFields are the field extensions by their ui:field names. */
export const backstageFields: RegistryFieldsType = {
  EntityPicker,
  OwnerPicker,
  EntityNamePicker,
  EntityTagsPicker,
  RepoUrlPicker,
  Secret,
  // Older and alias names used by published templates.
  OwnedEntityPicker: EntityPicker,
  MyGroupsPicker: OwnerPicker,
};
