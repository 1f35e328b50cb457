// Writes dist/js-fallback-figure.json: how much slower the pure-JS backend
// measured than native, for the fallback warning (lib/backend.ts). The figure
// is taken from the committed benchmark results, so the warning always quotes
// the last full `npm run bench` and says which run.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = 'bench/results/latest.json';
const results = JSON.parse(fs.readFileSync(path.join(root, source), 'utf8'));

// Rows of the JS backend carry instnormSpeedup: its time over instnorm
// native's on one thread, same shape and pass.
const rows = (results.results || []).filter(
  (r) => /js fallback/.test(r.impl) && typeof r.instnormSpeedup === 'number' && r.instnormSpeedup > 0,
);
if (rows.length === 0) {
  throw new Error(
    `${source} has no JS-fallback rows with instnormSpeedup (the JS time over native 1-thread); ` +
      'update scripts/write-fallback-figure.js to the benchmark format',
  );
}
const ratios = rows.map((r) => r.instnormSpeedup);
const shapes = new Set(rows.map((r) => r.shape)).size;
const passes = [...new Set(rows.map((r) => r.pass))].join(' and ');
const m = results.machine || {};
const isa = (m.backend && m.backend.isa) || (m.isas && m.isas[0]) || 'native';
const figure = {
  min: Math.min(...ratios),
  max: Math.max(...ratios),
  what: `instance norm ${passes}, ${shapes} shapes, 1 thread, ${m.cpu || 'unknown CPU'} ${isa}`,
  source: `${source} of ${String(results.date).slice(0, 10)}`,
};
fs.writeFileSync(path.join(root, 'dist', 'js-fallback-figure.json'), `${JSON.stringify(figure, null, 2)}\n`);
