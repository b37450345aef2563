// Prints the gzipped size of the JavaScript and CSS a browser loads before
// the first page renders (the entry script, its module preloads and the
// entry style sheet, as listed in dist/index.html) and fails when the
// JavaScript exceeds the budget. Run after `npm run build`: npm run size
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const budgetKB = Number(process.env.PORTICO_UI_BUDGET_KB ?? 300);
const dist = join(import.meta.dirname, '..', 'dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const refs = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let js = 0;
let css = 0;
for (const ref of refs) {
  const gz = gzipSync(readFileSync(join(dist, ref)), { level: 9 }).length;
  if (ref.endsWith('.js')) js += gz;
  else css += gz;
  console.log(`${(gz / 1024).toFixed(1).padStart(7)} KB gzip  ${ref}`);
}
console.log(`initial JavaScript: ${(js / 1024).toFixed(1)} KB gzip (budget ${budgetKB} KB); CSS: ${(css / 1024).toFixed(1)} KB gzip`);
if (js > budgetKB * 1024) {
  console.error(`the initial JavaScript is over the ${budgetKB} KB budget: split a route with React.lazy or drop a dependency`);
  process.exit(1);
}
