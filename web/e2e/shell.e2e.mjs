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
}
