// The app shell: sign in as the guest, every sidebar entry opens its page,
// a deep link survives a reload, and the dark theme applies.
export default async function ({ page, baseURL, signIn, shot, step }) {
  step('sign in as guest');
  await signIn('/');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const [label, heading] of [
    ['Catalog', 'Catalog'],
    ['Create', 'Create'],
    ['Workflows', 'Workflows'],
    ['Notifications', 'Notifications'],
    ['Settings', 'Settings'],
    ['Home', 'Home'],
  ]) {
    step(`open ${label}`);
    await nav.getByRole('link', { name: label, exact: false }).first().click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }
  await shot('home');

  step('a deep link reloads into the app');
  await page.goto(baseURL + '/settings');
  await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();

  step('switch to the dark theme');
  await page.getByRole('radio', { name: 'Dark' }).check();
  await page.locator('html[data-theme="dark"]').waitFor({ state: 'attached' });
  await shot('settings-dark');

  step('the dark theme stays after a reload, on the catalog too');
  await page.goto(baseURL + '/catalog/default/component/payment-gateway');
  await page.locator('html[data-theme="dark"]').waitFor({ state: 'attached' });
  await page.getByRole('heading', { level: 1, name: 'Payment gateway' }).waitFor();
  await shot('entity-dark');

  step('keyboard: the first Tab reaches "Skip to content", which moves focus to the page');
  await page.goto(baseURL + '/catalog');
  await page.getByRole('heading', { level: 1, name: 'Catalog' }).waitFor();
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (focused !== 'Skip to content') throw new Error(`first Tab focused ${JSON.stringify(focused)}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'main');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const inMain = await page.evaluate(() => !!document.activeElement?.closest('main'));
  if (!inMain) throw new Error('Tab after skipping did not stay in the page content');
}
