// Live updates and Abort: a sleeping run shows as Active with its current
// state highlighted and turns Completed by itself (the page polls while
// the run is active); a run waiting for an event can be aborted.
export default async function ({ page, signIn, shot, step }) {
  step('a run that sleeps completes while the page is open');
  await signIn('/workflows/reminder/run');
  await page.getByRole('button', { name: 'Run' }).click();
  await page.locator('[data-testid="instance-status"] [data-status]').waitFor();
  await page.locator('[data-testid="instance-status"] [data-status="COMPLETED"]').waitFor({ timeout: 60_000 });
  await page.locator('.wf-node-visited[data-node="Remind"]').waitFor();
  await shot('reminder-completed');

  step('a run waiting for an event is aborted');
  await page.goto(page.url().replace(/\/workflows\/.*$/, '/workflows/approval/run'));
  const next = page.getByRole('button', { name: 'Next step' });
  await next.or(page.getByRole('button', { name: 'Run' })).first().waitFor();
  if (await next.isVisible()) await next.click();
  await page.getByRole('button', { name: 'Run' }).click();
  await page.locator('[data-testid="instance-status"] [data-status="ACTIVE"]').waitFor();
  await page.locator('.wf-node-current').first().waitFor();
  await shot('approval-active');
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Abort' }).click();
  await page.locator('[data-testid="instance-status"] [data-status="ABORTED"]').waitFor();
  await shot('approval-aborted');
}
