import { fireEvent, render, screen } from '@testing-library/react';
import type { ReactElement } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { AuthTestProvider } from '../api/auth';
import type { Entity } from '../api/catalog';
import { entityPath, humanRef, parseRef } from '../api/catalog';
import { Router } from '../router';
import { catalogFilter } from './catalog/CatalogPage';
import { EntityView, operations } from './catalog/EntityPage';
import { listQuery, NotificationItem } from './notifications/NotificationsPage';
import { toggle } from './notifications/NotificationSettingsPage';
import { annotationWorkflowIds, runPath } from '../api/orchestrator';

describe('catalog filters', () => {
  it.each([
    ['', { kind: ['component'] }],
    ['kind=all', {}],
    ['kind=api&type=openapi&type=grpc&owner=group:default/team-a', { kind: ['api'], 'spec.type': ['openapi', 'grpc'], 'relations.ownedBy': ['group:default/team-a'] }],
    ['tag=java&lifecycle=production&namespace=ops', { kind: ['component'], 'metadata.tags': ['java'], 'spec.lifecycle': ['production'], 'metadata.namespace': ['ops'] }],
  ])('%s', (qs, want) => {
    expect(catalogFilter(new URLSearchParams(qs))).toEqual(want);
  });

  it('leaves out the facet being counted', () => {
    expect(catalogFilter(new URLSearchParams('type=service&tag=go'), 'spec.type')).toEqual({ kind: ['component'], 'metadata.tags': ['go'] });
  });
});

describe('entity refs', () => {
  it.each([
    ['component:default/shop', { kind: 'component', namespace: 'default', name: 'shop' }],
    ['team-a', { kind: '', namespace: 'default', name: 'team-a' }],
    ['ops/db', { kind: '', namespace: 'ops', name: 'db' }],
  ])('parses %s', (ref, want) => expect(parseRef(ref)).toEqual(want));

  it('builds paths and short names', () => {
    expect(entityPath('API:default/Payments-API')).toBe('/catalog/default/api/Payments-API');
    expect(humanRef('group:default/team-a', 'group')).toBe('team-a');
    expect(humanRef('group:ops/team-a', 'user')).toBe('group:ops/team-a');
  });
});

describe('operations', () => {
  it('reads paths and methods from an OpenAPI YAML definition', () => {
    const yaml = [
      'openapi: 3.0.3',
      'info:',
      '  title: X',
      'paths:',
      '  /payments:',
      '    post:',
      '      summary: Charge a payment method',
      '      responses:',
      '        "201": {description: ok}',
      '  "/payments/{id}":',
      '    get:',
      '      summary: "Read a payment"',
      '    delete:',
      '      responses: {}',
      'components: {}',
    ].join('\n');
    expect(operations(yaml)).toEqual([
      { method: 'POST', path: '/payments', summary: 'Charge a payment method' },
      { method: 'GET', path: '/payments/{id}', summary: 'Read a payment' },
      { method: 'DELETE', path: '/payments/{id}', summary: undefined },
    ]);
  });

  it('reads a JSON definition', () => {
    expect(operations('{"paths": {"/a": {"get": {"summary": "A"}, "parameters": []}}}')).toEqual([{ method: 'GET', path: '/a', summary: 'A' }]);
  });
});

function renderWithApp(ui: ReactElement, respond: () => Response = () => new Response('{"items": []}', { status: 200 })) {
  vi.stubGlobal('fetch', vi.fn(async () => respond()));
  return render(
    <Router>
      <AuthTestProvider>{ui}</AuthTestProvider>
    </Router>,
  );
}

describe('EntityView', () => {
  const entity: Entity = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: 'shop',
      description: 'The shop.',
      tags: ['go'],
      links: [{ url: 'https://shop.example', title: 'Shop' }],
      annotations: { 'backstage.io/source-location': 'url:https://git.example/shop' },
    },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-a', system: 'payments' },
    relations: [{ type: 'ownedBy', targetRef: 'group:default/team-a' }],
    status: {
      items: [{ type: 'backstage.io/catalog-processing', level: 'error', message: 'x', error: { name: 'InputError', message: 'spec.type must be a string' } }],
    },
  };

  it('shows the about card, the processing error and the relations', async () => {
    renderWithApp(<EntityView entity={entity} />);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('shop');
    expect(screen.getByRole('alert').textContent).toContain('InputError: spec.type must be a string');
    expect(screen.getByRole('link', { name: 'team-a' }).getAttribute('href')).toBe('/catalog/default/group/team-a');
    expect(screen.getByRole('link', { name: 'payments' }).getAttribute('href')).toBe('/catalog/default/system/payments');
    expect(screen.getByRole('link', { name: 'Shop' }).getAttribute('href')).toBe('https://shop.example');
    expect(screen.getByRole('img', { name: /Relations of component:shop/ })).toBeTruthy();
    expect(await screen.findByText('No workflow has run for this entity yet.')).toBeTruthy();
    vi.unstubAllGlobals();
  });

  it('says so when the orchestrator API is missing', async () => {
    renderWithApp(<EntityView entity={{ ...entity, status: {} }} />, () => new Response('{"error":{"name":"NotFoundError","message":"no route"}}', { status: 404 }));
    expect(await screen.findByText('Workflow runs are not available')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
    vi.unstubAllGlobals();
  });
});

describe('notifications', () => {
  it.each([
    ['', { read: false, saved: undefined, minimumSeverity: undefined, topic: undefined, search: undefined }],
    ['view=all&severity=high&topic=deploys&q=gateway', { read: undefined, saved: undefined, minimumSeverity: 'high', topic: 'deploys', search: 'gateway' }],
    ['view=saved&severity=bogus', { read: undefined, saved: true, minimumSeverity: undefined, topic: undefined, search: undefined }],
    ['view=read', { read: true, saved: undefined, minimumSeverity: undefined, topic: undefined, search: undefined }],
  ])('query for %s', (qs, want) => {
    expect(listQuery(new URLSearchParams(qs), 20)).toEqual({ ...want, offset: 20, limit: 20 });
  });

  it('renders a notification with severity, link and actions', () => {
    const onUpdate = vi.fn();
    render(
      <Router>
        <ul>
          <NotificationItem
            n={{ id: 'n1', created: new Date().toISOString(), origin: 'plugin:scaffolder', user: 'user:default/ann', payload: { title: 'Task done', severity: 'critical', link: '/create/tasks/1', topic: 'tasks' } }}
            onUpdate={onUpdate}
          />
        </ul>
      </Router>,
    );
    const item = screen.getByRole('listitem', { name: 'Unread: Task done' });
    expect(item.className).toContain('severity-critical');
    expect(screen.getByRole('link', { name: 'Task done' }).getAttribute('href')).toBe('/create/tasks/1');
    fireEvent.click(screen.getByRole('button', { name: 'Mark read: Task done' }));
    expect(onUpdate).toHaveBeenLastCalledWith(['n1'], { read: true });
    fireEvent.click(screen.getByRole('button', { name: 'Save: Task done' }));
    expect(onUpdate).toHaveBeenLastCalledWith(['n1'], { saved: true });
    // Following the link marks it read.
    fireEvent.click(screen.getByRole('link', { name: 'Task done' }));
    expect(onUpdate).toHaveBeenLastCalledWith(['n1'], { read: true });
  });

  it('toggles one origin or topic in one channel', () => {
    const settings = {
      channels: [
        { id: 'Web', origins: [{ id: 'plugin:a', enabled: true, topics: [{ id: 't1', enabled: true }] }] },
        { id: 'Email', origins: [{ id: 'plugin:a', enabled: true }] },
      ],
    };
    expect(toggle(settings, 'Web', 'plugin:a', 't1', false).channels[0].origins[0].topics).toEqual([{ id: 't1', enabled: false }]);
    const off = toggle(settings, 'Email', 'plugin:a', null, false);
    expect(off.channels[1].origins[0].enabled).toBe(false);
    expect(off.channels[0]).toBe(settings.channels[0]);
  });
});

describe('entity workflows', () => {
  it.each([
    [undefined, []],
    [{}, []],
    [{ 'orchestrator.io/workflows': '["greeting", "approval"]' }, ['greeting', 'approval']],
    [{ 'orchestrator.io/workflows': 'greeting, approval' }, ['greeting', 'approval']],
    [{ 'orchestrator.io/workflows': '[1, "x", ""]' }, ['x']],
  ])('reads the annotation from %j', (annotations, want) => {
    expect(annotationWorkflowIds(annotations as Record<string, string> | undefined)).toEqual(want);
  });

  it('starts a run for the entity', () => {
    expect(runPath('greeting', 'component:default/shop')).toBe('/workflows/greeting/run?targetEntity=component%3Adefault%2Fshop');
  });
});
