// Native against JS for every op of ops.cjs on this machine, without the
// test framework (for the CI workflow of other platforms):
//   node test/package/parity/check.cjs <package dir>
// Exits 1 on any difference, an uncovered export, or no native backend.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { differences } = require('./compare.cjs');

const pkg = path.resolve(process.argv[2] || '.');
const side = (backend) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'run.cjs'), pkg], {
    env: { ...process.env, INSTNORM_BACKEND: backend }, encoding: 'utf8', maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`parity run (${backend}) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
};
const native = side('native');
const js = side('js');
const problems = [
  ...(native.backend.name === 'native' ? [] : [`native backend not loaded: ${JSON.stringify(native.backend)}`]),
  ...native.uncovered.map((f) => `${f}: exported, but no entry of test/package/parity/ops.cjs calls it`),
  ...differences(native, js),
];
console.log(`parity ${process.platform}-${process.arch} (${native.backend.isa}), Node ${native.node}: ` +
  `${Object.keys(native.cases).length} cases, ${problems.length} problems`);
for (const p of problems) console.log(`  ${p}`);
process.exitCode = problems.length ? 1 : 0;
