// Runs one browser scenario: node e2e/run.mjs e2e/<name>.e2e.mjs
// Environment: PORTICO_URL (the server), PORTICO_E2E_ARTIFACTS (where
// screenshots go), PORTICO_E2E_TOKEN (a static external-access token),
// CHROMIUM_PATH (default /usr/bin/chromium). The Go test TestBrowser
// (web/browser_test.go) starts a server per scenario and sets these.
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, makeContext } from './lib.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node e2e/run.mjs e2e/<name>.e2e.mjs');
  process.exit(2);
}
const name = basename(file, '.e2e.mjs');
const scenario = (await import(pathToFileURL(resolve(file)).href)).default;

const browser = await launch();
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(60_000);
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
  const ctx = makeContext(page, name);
  try {
    await scenario(ctx);
    console.log(`[${name}] passed`);
  } catch (err) {
    failed = true;
    console.error(`[${name}] FAILED: ${err?.stack ?? err}`);
    try {
      await ctx.shot('failure');
    } catch (e) {
      console.error(`[${name}] could not save the failure screenshot: ${e}`);
    }
  }
  if (consoleErrors.length) console.log(`[${name}] browser console errors:\n  ${consoleErrors.join('\n  ')}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
