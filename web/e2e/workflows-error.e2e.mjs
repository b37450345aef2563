// A run that fails: the instance page names the failing state, marks it in
// the graph and the timeline, and offers Retrigger.
export default async function ({ page, signIn, shot, step }) {
  step('run the order workflow without a quantity');
  await signIn('/workflows');
  await page.locator('tr[data-workflow="order"]').getByRole('link', { name: /Execute/ }).click();
  await page.getByText('This workflow takes no input.').waitFor();
  await page.getByRole('button', { name: 'Run' }).click();

  step('the failure shows where it happened');
  await page.locator('[data-testid="instance-status"] [data-status="ERROR"]').waitFor();
  await page.getByText('Failed in Invalid:').waitFor();
  await page.locator('.wf-node-failed[data-node="Invalid"]').waitFor();
  await page.locator('.timeline li.failed', { hasText: 'quantity must be positive' }).waitFor();
  await page.getByRole('button', { name: 'Retrigger' }).waitFor();
  await shot('instance-error');
}
