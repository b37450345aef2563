// Shared helpers of the browser scenarios (e2e/*.e2e.mjs). Each scenario's
// default export receives a context built here:
//
//   export default async function ({ page, baseURL, signIn, shot, sendNotification, step }) { ... }
//
// run.mjs starts Chromium, opens a page, runs the scenario and saves a
// screenshot when it fails. Scenarios use Playwright's locators, which wait
// for what they look for; they must not assert on timing.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const baseURL = process.env.PORTICO_URL ?? 'http://localhost:7007';
export const artifacts = process.env.PORTICO_E2E_ARTIFACTS ?? 'e2e-artifacts';
export const token = process.env.PORTICO_E2E_TOKEN ?? '';
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** launch starts headless Chromium with flags that suit a closed network. */
export async function launch() {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** makeContext returns what a scenario is given. */
export function makeContext(page, name) {
  mkdirSync(artifacts, { recursive: true });
  let shots = 0;
  const ctx = {
    page,
    baseURL,
    /** step logs what the scenario is doing, so a failure's output tells where. */
    step(what) {
      console.log(`[${name}] ${what}`);
    },
    /** shot saves a full-page screenshot as <n>-<label>.png. */
    async shot(label) {
      shots++;
      const file = join(artifacts, `${String(shots).padStart(2, '0')}-${label}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`[${name}] screenshot ${file}`);
      return file;
    },
    /** signIn opens path and signs in as the guest when the sign-in page shows. */
    async signIn(path = '/') {
      await page.goto(baseURL + path);
      const enter = page.getByRole('button', { name: 'Enter' });
      const nav = page.getByRole('navigation', { name: 'Main' });
      await enter.or(nav).first().waitFor();
      if (await enter.isVisible()) await enter.click();
      await nav.waitFor();
    },
    /** api calls Portico's HTTP API as the e2e service (static token). */
    async api(method, path, body) {
      const res = await fetch(baseURL + path, {
        method,
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    /** sendNotification sends a broadcast notification as a service would. */
    async sendNotification(payload, recipients = { type: 'broadcast' }) {
      return ctx.api('POST', '/api/notifications', { recipients, payload });
    },
  };
  return ctx;
}
