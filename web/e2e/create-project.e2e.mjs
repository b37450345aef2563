// Creating a project from a template: the gallery, the wizard's steps with
// Backstage's field extensions, the review, the template's form decorator
// (portico:initiator fills "requested by" with the signed-in user), then
// the task page, whose steps finish and whose output link shows.
const template = process.env.PORTICO_E2E_TEMPLATE ?? 'e2-demo';

export default async function ({ page, signIn, shot, step }) {
  step('open the template gallery');
  await signIn('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Create' }).click();
  const card = page.locator(`[data-template="${template}"]`);
  await card.waitFor();
  await shot('gallery');

  step('fill in the wizard');
  await card.getByRole('link', { name: /Choose/ }).click();
  await page.locator('.stepper').waitFor();
  const name = `demo-${Date.now().toString(36)}`;
  await page.getByLabel(/^Name/).fill('Not valid!');
  await page.getByLabel(/^Owner/).fill('group:default/team-a');
  await page.getByRole('button', { name: /Next|Review/ }).click();
  await page.getByText(/must start and end with a letter or digit/).waitFor();
  await shot('validation');
  await page.getByLabel(/^Name/).fill(name);
  await page.getByRole('button', { name: /Next|Review/ }).click();
  await page.getByText('Where', { exact: true }).first().waitFor();
  await page.getByRole('textbox', { name: 'Owner', exact: true }).fill('examples');
  await page.getByRole('textbox', { name: 'Repository', exact: true }).fill(name);
  await page.getByLabel(/API key/).fill('s3cret');
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByRole('heading', { name: 'Review' }).waitFor();
  await page.getByText('portico:initiator').waitFor();
  await page.locator('dd', { hasText: '******' }).first().waitFor();
  await shot('review');

  step('create and watch the task');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('[data-testid="task-status"][data-status="completed"]').waitFor({ timeout: 120_000 });
  await page.getByRole('link', { name: 'Open the repository' }).waitFor();
  await page.getByText(`for user:development/guest`).first().waitFor();
  await shot('task-completed');

  step('the task is in the list');
  await page.getByRole('link', { name: 'All tasks' }).click();
  await page.getByRole('heading', { level: 1, name: 'Tasks' }).waitFor();
  await page.locator('table').getByText('completed').first().waitFor();
  await shot('tasks');
}
