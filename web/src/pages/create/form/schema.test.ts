import { describe, expect, it } from 'vitest';
import { extractUiSchema, resolveLocalRefs, reviewRows, workflowSteps } from './schema';

describe('extractUiSchema', () => {
  it('moves inline ui:* keys into a uiSchema of the same shape', () => {
    const { schema, uiSchema } = extractUiSchema({
      title: 'Step',
      'ui:order': ['b', 'a'],
      properties: {
        a: { type: 'string', 'ui:widget': 'textarea' },
        b: { type: 'object', properties: { c: { type: 'string', 'ui:field': 'OwnerPicker', 'ui:options': { allowedKinds: ['Group'] } } } },
        d: { type: 'array', items: { type: 'string', 'ui:placeholder': 'x' } },
      },
      dependencies: { a: { properties: { e: { type: 'string', 'ui:widget': 'password' } } } },
    });
    expect(schema).toEqual({
      title: 'Step',
      properties: {
        a: { type: 'string' },
        b: { type: 'object', properties: { c: { type: 'string' } } },
        d: { type: 'array', items: { type: 'string' } },
      },
      dependencies: { a: { properties: { e: { type: 'string' } } } },
    });
    expect(uiSchema).toEqual({
      'ui:order': ['b', 'a'],
      a: { 'ui:widget': 'textarea' },
      b: { c: { 'ui:field': 'OwnerPicker', 'ui:options': { allowedKinds: ['Group'] } } },
      d: { items: { 'ui:placeholder': 'x' } },
      e: { 'ui:widget': 'password' },
    });
  });
});

describe('workflowSteps', () => {
  it('keeps a flat schema as one step', () => {
    const steps = workflowSteps({ title: 'Greeting', type: 'object', properties: { name: { type: 'string' } } });
    expect(steps).toHaveLength(1);
    expect(steps[0].title).toBe('Greeting');
    expect(steps[0].key).toBeUndefined();
  });

  it('makes each object property a step, resolving references', () => {
    const steps = workflowSteps({
      type: 'object',
      $defs: { app: { type: 'object', title: 'Application', properties: { name: { type: 'string' } } } },
      properties: { app: { $ref: '#/$defs/app' }, infra: { type: 'object', properties: { region: { type: 'string' } } } },
    });
    expect(steps.map((s) => [s.key, s.title])).toEqual([
      ['app', 'Application'],
      ['infra', 'infra'],
    ]);
  });

  it('gives no steps without a schema', () => {
    expect(workflowSteps(undefined)).toEqual([]);
  });
});

describe('resolveLocalRefs', () => {
  it('leaves a cycle as a reference', () => {
    const out = resolveLocalRefs({ definitions: { n: { type: 'object', properties: { next: { $ref: '#/definitions/n' } } } }, properties: { root: { $ref: '#/definitions/n' } } });
    const root = (out.properties as Record<string, Record<string, unknown>>).root;
    expect(root.type).toBe('object');
    expect((root.properties as Record<string, Record<string, unknown>>).next.$ref).toBe('#/definitions/n');
  });
});

describe('reviewRows', () => {
  it('lists a step’s own answers with titles, masks secrets and hides review.show false', () => {
    const rows = reviewRows(
      { properties: { name: { title: 'Name' }, token: { title: 'Token' }, internal: {}, db: { type: 'object', title: 'DB', properties: { host: { title: 'Host' } } } } },
      { token: { 'ui:field': 'Secret' }, internal: { 'ui:backstage': { review: { show: false } } } },
      { name: 'svc', token: '***', internal: 'x', db: { host: 'h' }, otherStep: 'y', tags: undefined },
    );
    expect(rows).toEqual([
      { label: 'Name', value: 'svc' },
      { label: 'Token', value: '******' },
      { label: 'DB › Host', value: 'h' },
    ]);
  });
});
