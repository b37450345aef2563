// Renders every case of cases.json with the real nunjucks package and
// prints the results as JSON (keyed by case name) on stdout. Portico's
// differential test compares them with its own engine's output.
'use strict';
const fs = require('fs');
const path = require('path');
const nunjucks = require('nunjucks');

// An optional argument names another corpus file (for exploratory runs).
const casesPath = process.argv[2] || path.join(__dirname, 'cases.json');
const file = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
const out = {};
for (const c of file.cases) {
  const opts = c.options || {};
  const env = new nunjucks.Environment(null, {
    autoescape: false,
    trimBlocks: !!opts.trimBlocks,
    lstripBlocks: !!opts.lstripBlocks,
    tags: { variableStart: opts.cookiecutter ? '{{' : '${{', variableEnd: '}}' },
  });
  // cookiecutterCompat as the scaffolder does it: {{ }} delimiters, the
  // Jinja compatibility layer and a jsonify filter.
  let uninstall;
  if (opts.cookiecutter) {
    env.addFilter('jsonify', env.getFilter('dump'));
    uninstall = nunjucks.installJinjaCompat();
  }
  const data = c.data !== undefined ? c.data : file.data;
  try {
    out[c.name] = { output: env.renderString(c.template, data) };
  } catch (e) {
    out[c.name] = { error: true };
  }
  if (uninstall) {
    uninstall();
  }
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
