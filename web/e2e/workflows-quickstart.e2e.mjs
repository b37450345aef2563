// The orchestrator's Quick Start: Workflows in the sidebar, Execute on the
// Greeting workflow, Next step, Run, and the run becomes Completed with
// its result shown; the graph marks the path taken; Run again starts from
// the same input.
export default async function ({ page, signIn, shot, step }) {
  step('sign in as guest and open Workflows');
  await signIn('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workflows' }).click();
  await page.getByRole('heading', { level: 1, name: 'Workflows' }).waitFor();
  const row = page.locator('tr[data-workflow="greeting"]');
  await row.waitFor();
  await shot('workflows');

  step('execute Greeting');
  await row.getByRole('link', { name: /Execute/ }).click();
  await page.getByRole('heading', { level: 1, name: /Run Greeting/ }).waitFor();
  await page.getByLabel(/Name/).fill('Ana');
  await page.getByLabel(/Language/).selectOption('Spanish');
  await page.getByRole('button', { name: 'Next step' }).click();
  await page.getByRole('heading', { name: 'Review' }).waitFor();
  await page.getByText('Spanish').first().waitFor();
  await shot('run-review');

  step('run and wait for Completed');
  await page.getByRole('button', { name: 'Run' }).click();
  await page.locator('[data-testid="instance-status"] [data-status="COMPLETED"]').waitFor();
  await page.getByText('Saludos desde JSON Workflow, Ana').first().waitFor();
  await page.locator('.wf-node-visited[data-node="GreetInSpanish"]').waitFor();
  await page.locator('.wf-node-idle[data-node="GreetInEnglish"]').waitFor();
  await page.getByText('GreetPerson').first().waitFor();
  await shot('instance-completed');

  step('Run again starts from this run\'s input');
  await page.getByRole('link', { name: 'Run again' }).click();
  await page.getByText(/Running again with the input of/).waitFor();
  if ((await page.getByLabel(/Name/).inputValue()) !== 'Ana') throw new Error('the re-run form did not start from the earlier input');
  await page.goBack();
  await page.locator('[data-testid="instance-status"] [data-status="COMPLETED"]').waitFor();

  step('the run shows in the runs list');
  await page.getByRole('link', { name: 'Greeting workflow' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Greeting workflow' }).waitFor();
  await page.goto(page.url().replace(/\/workflows\/.*$/, '/workflows/instances'));
  await page.getByRole('heading', { level: 1, name: 'Workflow runs' }).waitFor();
  await page.locator('[data-status="COMPLETED"]').first().waitFor();
  await shot('runs');
}
