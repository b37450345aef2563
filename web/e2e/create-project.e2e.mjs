// Creating a project from the example template: the gallery, the wizard's
// steps (a validation message, Backstage's OwnerPicker, a boolean), the
// review, the template's form decorator (portico:initiator records the
// signed-in user as requestedBy), then the task page, whose steps finish
// and whose output link opens the new component in the catalog.
const template = process.env.PORTICO_E2E_TEMPLATE ?? 'example-service';

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
  const nameField = page.getByRole('textbox', { name: /^Name/ });
  await nameField.fill('Not Valid');
  await page.getByRole('button', { name: /^(Next|Review)$/ }).click();
  await page.locator('.error-detail').first().waitFor();
  await shot('validation');
  await nameField.fill(name);
  await page.getByRole('button', { name: /^(Next|Review)$/ }).click();
  await page.getByRole('heading', { name: 'What to include' }).waitFor();
  await page.getByRole('checkbox', { name: /Dockerfile/ }).check();
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByRole('heading', { name: 'Review' }).waitFor();
  await page.getByText('portico:initiator').waitFor();
  await page.locator('dd', { hasText: name }).first().waitFor();
  await shot('review');

  step('create and watch the task finish');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('[data-testid="task-status"][data-status="completed"]').waitFor({ timeout: 120_000 });
  const link = page.getByRole('link', { name: 'Open in catalog' });
  await link.waitFor();
  // The decorator's value reached the task: the output names the user.
  await page.getByText('Requested by user:development/guest').waitFor();
  await shot('task-completed');

  step('the output link opens the new component');
  await link.click();
  await page.getByRole('heading', { level: 1, name: name }).waitFor();
  await shot('component');

  step('Start over brings the answers back');
  await page.goBack();
  await page.getByRole('link', { name: 'Start over' }).click();
  await page.locator('.stepper').waitFor();
  if ((await page.getByRole('textbox', { name: /^Name/ }).inputValue()) !== name) throw new Error('Start over did not bring the name back');

  step('the task is in the list');
  await page.goto(page.url().replace(/\/create\/.*$/, '/create/tasks'));
  await page.getByRole('heading', { level: 1, name: 'Tasks' }).waitFor();
  await page.locator('table').getByText('completed').first().waitFor();
  await shot('tasks');
}
