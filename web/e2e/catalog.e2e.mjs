// Catalog: filter the table by type and by search, see the facet counts,
// switch kind, and open an API entity's page (about card, relations graph,
// API definition, workflow runs).
export default async function ({ page, baseURL, signIn, shot, step }) {
  step('open the catalog');
  await signIn('/catalog');
  const table = page.getByRole('table');
  const rows = table.locator('tbody tr');
  await table.getByRole('link', { name: 'Payment gateway' }).waitFor();
  await table.getByRole('link', { name: 'Storefront web app' }).waitFor();

  step('filter by type "service" (its facet count says 3)');
  const types = page.getByRole('group', { name: 'Type' });
  const service = types.getByRole('checkbox', { name: /service/ });
  await types.getByText('service').waitFor();
  const label = types.locator('label', { hasText: 'service' });
  if ((await label.locator('.facet-count').innerText()).trim() !== '3') throw new Error('the service facet should count 3 components');
  await service.check();
  await table.getByRole('link', { name: 'Storefront web app' }).waitFor({ state: 'detached' });
  await waitForCount(rows, 3);
  if (!page.url().includes('type=service')) throw new Error(`the filter is not in the URL: ${page.url()}`);
  await shot('catalog-filtered');

  step('search within the filter');
  await page.getByRole('searchbox', { name: 'Search the catalog' }).fill('ledger');
  await page.getByText('No entities match').waitFor();
  await service.uncheck();
  await table.getByRole('link', { name: 'ledger-worker' }).waitFor();
  await waitForCount(rows, 1);
  await page.getByRole('searchbox', { name: 'Search the catalog' }).fill('');

  step('all kinds: the server pages through them with cursors');
  await page.getByLabel('Kind').selectOption('all');
  const range = page.locator('.toolbar .muted');
  await range.filter({ hasText: /^1–20 of \d+$/ }).waitFor();
  const total = Number((await range.innerText()).split(' of ')[1]);
  await waitForCount(rows, 20);
  const firstPage = await rows.first().innerText();
  await page.getByRole('button', { name: 'Next' }).click();
  await range.filter({ hasText: new RegExp(`^21–${Math.min(40, total)} of ${total}$`) }).waitFor();
  if ((await rows.first().innerText()) === firstPage) throw new Error('the second page starts like the first');
  await page.getByRole('button', { name: 'Previous' }).click();
  await range.filter({ hasText: /^1–20 of / }).waitFor();

  step('switch to APIs and open the Payments API');
  await page.getByLabel('Kind').selectOption('api');
  await table.getByRole('link', { name: 'Payments API' }).click();
  await page.getByRole('heading', { level: 1, name: 'Payments API' }).waitFor();
  const about = page.locator('section.card', { has: page.getByRole('heading', { name: 'About' }) });
  await about.getByText('Charge and refund payments.').waitFor();
  await about.getByRole('link', { name: 'team-payments' }).waitFor();
  await page.getByRole('img', { name: /Relations of api:payments-api/ }).waitFor();
  const definition = page.locator('section.card', { has: page.getByRole('heading', { name: 'API definition' }) });
  await definition.locator('td code', { hasText: '/payments/{id}/refund' }).waitFor();
  await page.getByRole('heading', { name: 'Workflow runs' }).waitFor();
  await shot('entity-page');

  step('a workflow run for an entity shows on its page, with a Run button for it');
  const res = await fetch(`${baseURL}/greeting`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ workflowdata: { name: 'Ana', language: 'English' }, targetEntity: 'component:default/payment-gateway' }),
  });
  if (!res.ok) throw new Error(`start greeting: ${res.status} ${await res.text()}`);
  await page.goto(`${baseURL}/catalog/default/component/payment-gateway`);
  const runs = page.locator('section.card', { has: page.getByRole('heading', { name: 'Workflow runs' }) });
  await runs.getByRole('link', { name: /Greeting/i }).waitFor();
  await runs.getByText('COMPLETED').waitFor();
  const workflows = page.locator('section.card', { has: page.getByRole('heading', { name: 'Workflows', exact: true }) });
  const run = workflows.getByRole('link', { name: /^Run .* for this entity$/ });
  await run.waitFor();
  const href = await run.getAttribute('href');
  if (!href?.includes('targetEntity=component%3Adefault%2Fpayment-gateway')) throw new Error(`Run link without the entity: ${href}`);
  await shot('entity-workflows');

  step('follow the owner link to the group page');
  await page.goto(`${baseURL}/catalog/default/api/payments-api`);
  await about.getByRole('link', { name: 'team-payments' }).click();
  await page.getByRole('heading', { level: 1 }).filter({ hasText: /payments/i }).waitFor();
  await page.getByText('group:default/team-payments').first().waitFor();
}

async function waitForCount(locator, n) {
  for (let i = 0; i < 100; i++) {
    if ((await locator.count()) === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${n} rows, found ${await locator.count()}`);
}
