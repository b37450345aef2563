// Home: quick links, and recent activity that follows what happens (a
// notification, a workflow run). With PORTICO_DOCS_IMAGES set, it also
// saves the README's screenshots (home.png, catalog.png) there.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export default async function ({ page, baseURL, signIn, shot, step, sendNotification }) {
  step('some activity: a notification and a Greeting run');
  await sendNotification({ title: 'Payments API 2.0 is live', description: 'Clients should move to /payments by June.', severity: 'high', topic: 'releases', link: '/catalog/default/api/payments-api' });
  const res = await fetch(`${baseURL}/greeting`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ workflowdata: { name: 'Ana', language: 'Spanish' } }),
  });
  if (!res.ok) throw new Error(`start greeting: ${res.status} ${await res.text()}`);

  step('home lists both');
  await signIn('/');
  await page.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
  await page.getByRole('link', { name: 'Payments API 2.0 is live' }).waitFor();
  const runs = page.locator('section.card', { has: page.getByRole('heading', { name: 'Recent workflow runs' }) });
  await runs.getByRole('link', { name: /Greeting/i }).waitFor();
  await runs.getByText('COMPLETED').waitFor();
  const home = await shot('home');

  step('quick links lead to their pages');
  await page.getByRole('navigation', { name: 'Quick links' }).getByRole('link', { name: /^APIs/ }).click();
  await page.getByRole('table').getByRole('link', { name: 'Payments API' }).waitFor();
  await page.getByLabel('Kind').selectOption('component');
  await page.getByRole('table').getByRole('link', { name: 'Payment gateway' }).waitFor();
  const catalog = await shot('catalog');

  const docs = process.env.PORTICO_DOCS_IMAGES;
  if (docs) {
    mkdirSync(docs, { recursive: true });
    copyFileSync(home, join(docs, 'home.png'));
    copyFileSync(catalog, join(docs, 'catalog.png'));
    step(`saved the README screenshots in ${docs}`);
  }
}
