// Exercises every method of the real @backstage/catalog-client against a
// running Portico whose catalog holds examples/catalog (the development
// setup). Usage: PORTICO_URL=http://localhost:7007 node compat.mjs
import assert from 'node:assert/strict';
import { CatalogClient, CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';

const baseUrl = process.env.PORTICO_URL ?? 'http://localhost:7007';
const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => `${baseUrl}/api/catalog` },
});

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}
const names = items => items.map(e => e.metadata.name).sort();

check('getEntities with filter, fields and order', async () => {
  const { items } = await client.getEntities({
    filter: { kind: 'Component', 'spec.type': 'service' },
    fields: ['metadata.name', 'spec.owner'],
    order: { field: 'metadata.name', order: 'asc' },
  });
  assert.deepEqual(items.map(e => e.metadata.name), ['checkout-service', 'payment-gateway', 'product-catalogue']);
  assert.deepEqual(Object.keys(items[0]).sort(), ['metadata', 'spec']);
});

check('getEntities with alternatives and exists', async () => {
  const { items } = await client.getEntities({
    filter: [{ kind: 'domain' }, { kind: 'system', 'metadata.tags': CATALOG_FILTER_EXISTS }],
  });
  assert.deepEqual(names(items), ['commerce', 'payments']);
});

check('getEntities with limit and offset', async () => {
  const { items } = await client.getEntities({ filter: { kind: 'user' }, order: { field: 'metadata.name', order: 'desc' }, limit: 2, offset: 1 });
  assert.deepEqual(items.map(e => e.metadata.name), ['dmitri', 'carol']);
});

check('getEntitiesByRefs', async () => {
  const { items } = await client.getEntitiesByRefs({
    entityRefs: ['component:default/checkout-service', 'component:default/nope', 'group:default/team-payments'],
    fields: ['kind', 'metadata.name'],
  });
  assert.equal(items.length, 3);
  assert.equal(items[0].metadata.name, 'checkout-service');
  assert.equal(items[1], undefined);
  assert.equal(items[2].kind, 'Group');
});

check('getEntityByRef with relations both ways', async () => {
  const e = await client.getEntityByRef('component:default/checkout-service');
  assert.ok(e.metadata.uid && e.metadata.etag);
  assert.ok(e.relations.some(r => r.type === 'ownedBy' && r.targetRef === 'group:default/team-payments'));
  const g = await client.getEntityByRef({ kind: 'Group', namespace: 'default', name: 'team-payments' });
  assert.ok(g.relations.some(r => r.type === 'ownerOf' && r.targetRef === 'component:default/checkout-service'));
  assert.equal(await client.getEntityByRef('component:default/does-not-exist'), undefined);
});

check('API definitions come from $text', async () => {
  const api = await client.getEntityByRef('api:default/checkout-api');
  assert.match(api.spec.definition, /^openapi: 3\.0\.3/);
});

check('queryEntities with cursors', async () => {
  const first = await client.queryEntities({
    filter: { kind: 'component' },
    orderFields: { field: 'metadata.name', order: 'asc' },
    limit: 4,
    fields: ['metadata.name'],
  });
  assert.equal(first.totalItems, 6);
  assert.equal(first.items.length, 4);
  assert.ok(first.pageInfo.nextCursor);
  const second = await client.queryEntities({ cursor: first.pageInfo.nextCursor, limit: 4 });
  assert.deepEqual(second.items.map(e => e.metadata.name), ['product-catalogue', 'storefront-web']);
  assert.equal(second.pageInfo.nextCursor, undefined);
  assert.ok(second.pageInfo.prevCursor);
  const back = await client.queryEntities({ cursor: second.pageInfo.prevCursor, limit: 4 });
  assert.deepEqual(back.items.map(e => e.metadata.name), first.items.map(e => e.metadata.name));
});

check('queryEntities with full text', async () => {
  const res = await client.queryEntities({ fullTextFilter: { term: 'PAYMENT', fields: ['metadata.name'] }, filter: { kind: 'component' } });
  assert.deepEqual(names(res.items), ['payment-gateway']);
});

check('queryEntities with a predicate', async () => {
  const res = await client.queryEntities({
    query: { $all: [{ kind: 'component' }, { 'spec.lifecycle': { $in: ['experimental'] } }] },
    fields: ['metadata.name'],
  });
  assert.deepEqual(names(res.items), ['product-catalogue']);
  assert.equal(res.totalItems, 1);
});

check('streamEntities', async () => {
  let count = 0;
  for await (const page of client.streamEntities({ filter: { kind: 'user' }, pageSize: 2 })) {
    count += page.length;
  }
  assert.equal(count, 5);
});

check('getEntityAncestors', async () => {
  const res = await client.getEntityAncestors({ entityRef: 'component:default/checkout-service' });
  assert.equal(res.rootEntityRef, 'component:default/checkout-service');
  assert.ok(res.items.length >= 3);
  assert.deepEqual(res.items[0].parentEntityRefs, ['location:default/example-catalog']);
});

check('getEntityFacets', async () => {
  const res = await client.getEntityFacets({ facets: ['spec.type', 'metadata.tags'], filter: { kind: 'component' } });
  const types = Object.fromEntries(res.facets['spec.type'].map(f => [f.value, f.count]));
  assert.deepEqual(types, { service: 3, website: 2, worker: 1 });
  assert.ok(res.facets['metadata.tags'].some(f => f.value === 'go' && f.count === 3));
  const byPredicate = await client.getEntityFacets({ facets: ['kind'], query: { kind: { $in: ['user', 'group'] } } });
  assert.deepEqual(byPredicate.facets.kind.map(f => [f.value, f.count]), [['Group', 5], ['User', 5]]);
});

check('refreshEntity', async () => {
  await client.refreshEntity('component:default/checkout-service');
});

check('validateEntity', async () => {
  const ok = await client.validateEntity(
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'ok' }, spec: { type: 'service', lifecycle: 'production', owner: 'me' } },
    'url:https://example.com/catalog-info.yaml',
  );
  assert.deepEqual(ok, { valid: true });
  const bad = await client.validateEntity(
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'not ok!' }, spec: {} },
    'url:https://example.com/catalog-info.yaml',
  );
  assert.equal(bad.valid, false);
  assert.ok(bad.errors.length > 0);
});

check('locations: add, read, update, remove', async () => {
  const dry = await client.addLocation({ type: 'embedded', target: 'catalog/components/storefront.yaml', dryRun: true });
  assert.equal(dry.exists, false);
  assert.ok(dry.entities.some(e => e.metadata.name === 'storefront-web'));
  // Registered locations follow catalog.rules: Systems are not allowed from them.
  await assert.rejects(client.addLocation({ type: 'embedded', target: 'catalog/systems/storefront.yaml', dryRun: true }), err => /not of an allowed kind/.test(err.body.error.message));
  const added = await client.addLocation({ type: 'embedded', target: 'catalog/components/storefront.yaml' });
  assert.ok(added.location.id);
  assert.equal(added.location.target, 'catalog/components/storefront.yaml');
  await assert.rejects(client.addLocation({ type: 'embedded', target: 'catalog/components/storefront.yaml' }), err => err.body.response.statusCode === 409 && /already exists/.test(err.body.error.message));
  const { items } = await client.getLocations();
  assert.ok(items.some(l => l.id === added.location.id));
  const queried = await client.queryLocations({ query: { target: 'catalog/components/storefront.yaml' } });
  assert.equal(queried.totalItems, 1);
  assert.deepEqual((await client.getLocationById(added.location.id)).target, 'catalog/components/storefront.yaml');
  assert.equal((await client.getLocationByRef('embedded:catalog/components/storefront.yaml')).id, added.location.id);
  assert.equal(await client.getLocationById('00000000-0000-0000-0000-000000000000'), undefined);
  const updated = await client.updateLocation(added.location.id, { type: 'embedded', target: 'catalog/components/checkout.yaml' });
  assert.equal(updated.target, 'catalog/components/checkout.yaml');
  await client.removeLocationById(added.location.id);
  assert.equal(await client.getLocationById(added.location.id), undefined);
});

check('getLocationByEntity', async () => {
  assert.equal(await client.getLocationByEntity('component:default/checkout-service'), undefined);
});

check('analyzeLocation', async () => {
  const res = await client.analyzeLocation({ location: { type: 'embedded', target: 'catalog/org/users.yaml' } });
  assert.equal(res.existingEntityFiles.length, 5);
  const gen = await client.analyzeLocation({ location: { type: 'embedded', target: 'catalog/nothing-here' } });
  assert.equal(gen.generateEntities[0].entity.metadata.name, 'nothing-here');
});

check('removeEntityByUid', async () => {
  const e = await client.getEntityByRef('user:default/guest');
  await client.removeEntityByUid(e.metadata.uid);
  // The example file still has it, so it comes back.
  for (let i = 0; i < 100; i++) {
    const again = await client.getEntityByRef('user:default/guest');
    if (again && again.metadata.uid !== e.metadata.uid) return;
    await new Promise(r => setTimeout(r, 20));
  }
  assert.fail('the deleted entity did not come back from its file');
});

let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err.stack ?? err}`);
  }
}
console.log(`${checks.length - failed} of ${checks.length} checks passed`);
process.exit(failed ? 1 : 0);
