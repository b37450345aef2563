// Notifications: one sent through the API (as a service, with a static
// token) shows up live, the sidebar counter changes without a reload, and
// marking read, saving and filtering work.
export default async function ({ page, signIn, shot, step, sendNotification }) {
  step('sign in; nothing is unread yet');
  await signIn('/');
  const counter = page.getByTestId('unread-count');
  const item = (title) => page.locator('.notification-title', { hasText: title });
  await page.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
  if (await counter.count()) throw new Error(`unexpected unread counter: ${await counter.innerText()}`);

  step('a broadcast sent now raises the counter live');
  await sendNotification({ title: 'Deployed payment-gateway 2.4.1', description: 'Rolled out to production.', severity: 'normal', topic: 'deployments', link: '/catalog/default/component/payment-gateway' });
  await counter.filter({ hasText: /^1$/ }).waitFor();

  step('the notifications page lists it');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Notifications/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
  await page.getByRole('link', { name: 'Deployed payment-gateway 2.4.1' }).waitFor();

  step('a critical one arrives while the page is open');
  await sendNotification({ title: 'Ledger database is down', severity: 'critical', topic: 'incidents' });
  await item('Ledger database is down').waitFor();
  await counter.filter({ hasText: /^2$/ }).waitFor();
  await shot('notifications-live');

  step('mark the deployment read: the counter drops');
  await page.getByRole('button', { name: 'Mark read: Deployed payment-gateway 2.4.1' }).click();
  await counter.filter({ hasText: /^1$/ }).waitFor();
  await item('Deployed payment-gateway 2.4.1').waitFor({ state: 'detached' });

  step('save the incident, then filter by view, severity and topic');
  await page.getByRole('button', { name: 'Save: Ledger database is down' }).click();
  await page.getByRole('button', { name: 'Saved', exact: true }).click();
  await item('Ledger database is down').waitFor();
  await page.getByRole('button', { name: 'All', exact: true }).click();
  await item('Deployed payment-gateway 2.4.1').waitFor();
  await page.getByLabel('Severity').selectOption('critical');
  await item('Deployed payment-gateway 2.4.1').waitFor({ state: 'detached' });
  await page.getByLabel('Severity').selectOption('');
  await page.getByLabel('Topic').selectOption('deployments');
  await item('Ledger database is down').waitFor({ state: 'detached' });
  await item('Deployed payment-gateway 2.4.1').waitFor();
  await page.getByLabel('Topic').selectOption('');
  await page.getByRole('searchbox', { name: 'Search' }).fill('ledger');
  await item('Deployed payment-gateway 2.4.1').waitFor({ state: 'detached' });
  await item('Ledger database is down').waitFor();
  await shot('notifications-filtered');

  step('the settings page lists the origin and topics');
  await page.locator('.page-actions').getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { level: 1, name: 'Notification settings' }).waitFor();
  await page.getByRole('checkbox', { name: /Web notifications from e2e-tests$/ }).waitFor();
  await shot('notification-settings');
}
