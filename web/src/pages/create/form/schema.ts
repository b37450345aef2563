// JSON Schema helpers shared by the Create wizard and the workflow run
// form: splitting Backstage's inline `ui:*` keys out of a parameter schema,
// cutting a workflow's input schema into steps, and listing the answers for
// the review step.

/** JsonSchema is a JSON Schema object as the forms read it. */
export type JsonSchema = Record<string, unknown>;
/** UiSchema is rjsf's uiSchema: `ui:*` options per property. */
export type UiSchema = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * extractUiSchema splits a template step's schema into the JSON Schema and
 * the uiSchema: Backstage templates write `ui:field`, `ui:widget`,
 * `ui:options`... beside each property, while rjsf reads them from a
 * separate uiSchema of the same shape.
 */
export function extractUiSchema(input: JsonSchema): { schema: JsonSchema; uiSchema: UiSchema } {
  const uiSchema: UiSchema = {};
  const schema = split(input, uiSchema);
  return { schema, uiSchema };
}

function split(node: JsonSchema, ui: UiSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('ui:')) {
      ui[key] = value;
      continue;
    }
    out[key] = value;
  }
  if (isObject(node.properties)) {
    const props: JsonSchema = {};
    for (const [name, sub] of Object.entries(node.properties)) {
      if (!isObject(sub)) {
        props[name] = sub;
        continue;
      }
      const subUi: UiSchema = isObject(ui[name]) ? (ui[name] as UiSchema) : {};
      props[name] = split(sub, subUi);
      if (Object.keys(subUi).length) ui[name] = subUi;
    }
    out.properties = props;
  }
  if (isObject(node.items)) {
    const itemsUi: UiSchema = {};
    out.items = split(node.items, itemsUi);
    if (Object.keys(itemsUi).length) ui.items = itemsUi;
  }
  // Conditional parts (dependencies, allOf/oneOf/anyOf, if/then/else) add
  // properties whose ui:* keys belong to the same uiSchema level.
  for (const key of ['allOf', 'oneOf', 'anyOf'] as const) {
    const list = node[key];
    if (Array.isArray(list)) out[key] = list.map((s) => (isObject(s) ? split(s, ui) : s));
  }
  for (const key of ['then', 'else'] as const) {
    if (isObject(node[key])) out[key] = split(node[key] as JsonSchema, ui);
  }
  if (isObject(node.dependencies)) {
    const deps: JsonSchema = {};
    for (const [name, dep] of Object.entries(node.dependencies)) {
      deps[name] = isObject(dep) ? split(dep, ui) : dep;
    }
    out.dependencies = deps;
  }
  return out;
}

/** A FormStep is one page of a multi-step form. */
export interface FormStep {
  title: string;
  description?: string;
  schema: JsonSchema;
  uiSchema: UiSchema;
  /** For a workflow's nested-object step: the property the step fills. */
  key?: string;
}

/**
 * workflowSteps cuts a workflow's input schema into steps as the RHDH
 * orchestrator does: when every top-level property is an object, each is a
 * step of its own (its title the step's title); otherwise the whole schema
 * is one step.
 */
export function workflowSteps(input: JsonSchema | undefined, fallbackTitle = 'Input'): FormStep[] {
  if (!input || !isObject(input)) return [];
  const resolved = resolveLocalRefs(input);
  const { schema, uiSchema } = extractUiSchema(resolved);
  const props = isObject(schema.properties) ? schema.properties : {};
  const names = Object.keys(props);
  const nested = names.length > 0 && names.every((n) => isObject(props[n]) && (props[n] as JsonSchema).type === 'object');
  if (!nested) {
    // The step's heading shows the title and description; the form does not repeat them.
    return [{ title: (schema.title as string) || fallbackTitle, description: schema.description as string | undefined, schema: withoutHeading(schema), uiSchema }];
  }
  return names.map((name) => {
    const sub = props[name] as JsonSchema;
    return {
      key: name,
      title: (sub.title as string) || name,
      description: sub.description as string | undefined,
      schema: { ...sub, title: undefined, description: undefined, definitions: schema.definitions, $defs: schema.$defs },
      uiSchema: isObject(uiSchema[name]) ? (uiSchema[name] as UiSchema) : {},
    };
  });
}

/**
 * resolveLocalRefs inlines "#/..." references, so that a step cut out of
 * the schema still finds what it refers to. Cycles are left as references.
 */
export function resolveLocalRefs(root: JsonSchema): JsonSchema {
  const walk = (node: unknown, seen: string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, seen));
    if (!isObject(node)) return node;
    const ref = node.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/') && !seen.includes(ref)) {
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((acc, part) => (isObject(acc) ? acc[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), root);
      if (isObject(target)) {
        const rest = { ...node };
        delete rest.$ref;
        return walk({ ...target, ...rest }, [...seen, ref]);
      }
    }
    const out: JsonSchema = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v, seen);
    return out;
  };
  return walk(root, []) as JsonSchema;
}

function withoutHeading(schema: JsonSchema): JsonSchema {
  const out = { ...schema };
  delete out.title;
  delete out.description;
  return out;
}

/** templateSteps turns a template's parameter-schema steps into form steps. */
export function templateSteps(steps: { title: string; description?: string; schema: JsonSchema }[]): FormStep[] {
  return steps.map((s) => {
    const { schema, uiSchema } = extractUiSchema(s.schema ?? {});
    return { title: s.title, description: s.description, schema: withoutHeading(schema), uiSchema };
  });
}

/** A ReviewRow is one answer shown on the review step. */
export interface ReviewRow {
  label: string;
  value: string;
}

/**
 * reviewRows lists the answers of a step for the review page: nested
 * objects flattened with their titles, secrets masked, and properties
 * marked `ui:backstage.review.show: false` left out.
 */
export function reviewRows(schema: JsonSchema, uiSchema: UiSchema, data: unknown, prefix = ''): ReviewRow[] {
  const rows: ReviewRow[] = [];
  if (!isObject(data)) return rows;
  const props = isObject(schema.properties) ? schema.properties : {};
  const extra = collectConditionalProps(schema);
  const all: Record<string, unknown> = { ...extra, ...props };
  const known = Object.keys(all).length > 0;
  for (const [name, value] of Object.entries(data)) {
    // Steps share one data object: each shows only its own properties.
    if (value === undefined || (known && !(name in all))) continue;
    const sub = isObject(all[name]) ? (all[name] as JsonSchema) : {};
    const subUi = isObject(uiSchema[name]) ? (uiSchema[name] as UiSchema) : {};
    const review = isObject(subUi['ui:backstage']) ? (subUi['ui:backstage'] as Record<string, unknown>).review : undefined;
    if (isObject(review) && review.show === false) continue;
    const label = prefix + ((sub.title as string) || name);
    const secret = subUi['ui:field'] === 'Secret' || subUi['ui:widget'] === 'password' || (isObject(review) && review.mask);
    if (secret) {
      rows.push({ label, value: '******' });
    } else if (isObject(value) && sub.type === 'object') {
      rows.push(...reviewRows(sub, subUi, value, `${label} › `));
    } else {
      rows.push({ label, value: formatValue(value) });
    }
  }
  return rows;
}

function collectConditionalProps(schema: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const add = (s: unknown) => {
    if (isObject(s) && isObject(s.properties)) Object.assign(out, s.properties);
  };
  for (const key of ['allOf', 'oneOf', 'anyOf'] as const) if (Array.isArray(schema[key])) (schema[key] as unknown[]).forEach(add);
  add(schema.then);
  add(schema.else);
  if (isObject(schema.dependencies)) {
    for (const dep of Object.values(schema.dependencies)) {
      add(dep);
      if (isObject(dep) && Array.isArray(dep.oneOf)) dep.oneOf.forEach(add);
    }
  }
  return out;
}

/** formatValue shows a form value as text. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(formatValue).join(', ');
  return JSON.stringify(v);
}
