import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../api/client';
import { defaultDecorators, runDecorators } from './decorators';
import { parseSSE } from './api';
import { orchestratorWorkflowId } from './TemplatesPage';

const deps = {
  identity: { userEntityRef: 'user:default/ana', ownershipEntityRefs: [], provider: 'guest' },
  api: new ApiClient(() => 'token-of-ana'),
};

describe('runDecorators', () => {
  it('fills the field with the user and hands over the token as a secret', async () => {
    const out = await runDecorators(
      [{ id: 'portico:initiator', input: { field: 'owner', tokenSecret: 'PORTICO_TOKEN' } }],
      defaultDecorators,
      { values: { name: 'x' }, secrets: {} },
      deps,
    );
    expect(out.values).toEqual({ name: 'x', owner: 'user:default/ana' });
    expect(out.secrets).toEqual({ PORTICO_TOKEN: 'token-of-ana' });
    expect(out.ran).toEqual(['portico:initiator']);
  });

  it('keeps a value the person entered unless told to overwrite', async () => {
    const keep = await runDecorators([{ id: 'portico:initiator' }], defaultDecorators, { values: { requestedBy: 'user:default/bo' }, secrets: {} }, deps);
    expect(keep.values.requestedBy).toBe('user:default/bo');
    const over = await runDecorators([{ id: 'portico:initiator', input: { overwrite: true } }], defaultDecorators, { values: { requestedBy: 'user:default/bo' }, secrets: {} }, deps);
    expect(over.values.requestedBy).toBe('user:default/ana');
  });

  it('refuses input that breaks the decorator schema, naming the decorator', async () => {
    await expect(runDecorators([{ id: 'portico:initiator', input: { feild: 'x' } }], defaultDecorators, { values: {}, secrets: {} }, deps)).rejects.toThrow(
      /formDecorators\[0\] \(portico:initiator\)/,
    );
  });

  it('leaves decorators it does not know to the server', async () => {
    const out = await runDecorators([{ id: 'server-only' }], defaultDecorators, { values: { a: 1 }, secrets: {} }, deps);
    expect(out.unknown).toEqual(['server-only']);
    expect(out.values).toEqual({ a: 1 });
  });
});

describe('parseSSE', () => {
  it('splits frames and keeps the unfinished rest', () => {
    const { frames, rest } = parseSSE('event: log\ndata: {"id":1}\n\n: keep-alive\n\nevent: completion\r\ndata: {"id":2}\r\n\r\nevent: log\ndata: {"id"');
    expect(frames).toEqual([
      { event: 'log', data: '{"id":1}' },
      { event: 'completion', data: '{"id":2}' },
    ]);
    expect(rest).toBe('event: log\ndata: {"id"');
  });
});

describe('orchestratorWorkflowId', () => {
  const base = { apiVersion: 'scaffolder.backstage.io/v1beta3', kind: 'Template' };
  it('knows the orchestrator’s workflow entities by their empty steps', () => {
    expect(
      orchestratorWorkflowId({
        ...base,
        metadata: { name: 'greeting', annotations: { 'backstage.io/source-location': 'url:http://h/management/processes/greeting/source' } },
        spec: { type: 'workflow', steps: [] },
      }),
    ).toBe('greeting');
  });
  it('leaves a template of type workflow that has steps to the wizard', () => {
    expect(orchestratorWorkflowId({ ...base, metadata: { name: 'x' }, spec: { type: 'workflow', steps: [{ action: 'orchestrator:workflow:run' }] } })).toBeUndefined();
    expect(orchestratorWorkflowId({ ...base, metadata: { name: 'y' }, spec: { type: 'service', steps: [] } })).toBeUndefined();
  });
});
