// An assessment workflow recommends the next workflows: its result offers
// them as buttons, one opens the recommended workflow's run page with the
// assessment's data, and that run completes linked to the assessment.
export default async function ({ page, baseURL, signIn, shot, step }) {
  step('run the assessment');
  await signIn('/workflows');
  const row = page.locator('tr[data-workflow="assessment"]');
  await row.waitFor();
  await row.getByText('assessment', { exact: true }).waitFor();
  await row.getByRole('link', { name: /Execute/ }).click();
  await page.getByRole('heading', { level: 1, name: /Run Greeting assessment/ }).waitFor();
  await page.getByLabel(/Language/).selectOption('Spanish');
  await page.getByRole('button', { name: 'Next step' }).click();
  await page.getByRole('button', { name: 'Run' }).click();
  await page.locator('[data-testid="instance-status"] [data-status="COMPLETED"]').waitFor();
  await page.locator('.result-message', { hasText: 'Recommended 1 workflow(s) for Spanish' }).waitFor();
  const next = page.locator('[data-next-workflow="greeting"]');
  await next.waitFor();
  const assessmentUrl = page.url();
  await shot('assessment-result');

  step('open the recommended workflow');
  await next.click();
  await page.getByRole('heading', { level: 1, name: /Run Greeting workflow/ }).waitFor();
  await page.getByText(/Recommended by the assessment/).waitFor();
  // The form starts from the assessment's data.
  const language = page.getByLabel(/Language/);
  if ((await language.locator('option:checked').textContent()) !== 'Spanish') throw new Error('the run form did not start from the assessment data');
  await page.getByLabel(/Name/).fill('Luis');
  await page.getByRole('button', { name: 'Next step' }).click();
  await page.getByRole('button', { name: 'Run' }).click();
  await page.locator('[data-testid="instance-status"] [data-status="COMPLETED"]').waitFor();
  await page.getByText('Saludos desde JSON Workflow, Luis').first().waitFor();
  await page.getByText('Assessed by').waitFor();
  await shot('recommended-run-completed');

  step('the assessment links back');
  await page.goto(assessmentUrl.startsWith('http') ? assessmentUrl : baseURL + assessmentUrl);
  await page.locator('[data-next-workflow="greeting"]').waitFor();
}
