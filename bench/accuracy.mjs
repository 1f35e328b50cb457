#!/usr/bin/env node
// npm run accuracy: max error of every backend against a float64
// reference computed on the same fp32 inputs, on the adversarial inputs the
// README's Numerics section quotes. Every backend runs through the public
// API: each native ISA selected with internal.setIsa, the JS fallback with
// internal.useBackend('js'). Two naive fp32 formulations (emulated with
// Math.fround) are shown for comparison.
import { createRequire } from 'node:module';
import { normals } from '../test/helpers/data.mjs';
import { maxAbs, maxAbsDiff } from '../test/helpers/metrics.mjs';
import { refInstanceNorm, refInstanceNormBackward } from '../test/helpers/reference.mjs';

const require = createRequire(import.meta.url);
const lib = require('../dist/index.js');
const internal = require('../dist/internal.js');
const f = Math.fround;

// fp32 loops as commonly written: one running sum, then y = (x - mean) * rstd.
function naive(x, M, onePass) {
  const y = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += M) {
    let s = 0, q = 0;
    for (let i = o; i < o + M; i++) { s = f(s + x[i]); q = f(q + f(x[i] * x[i])); }
    const mean = f(s / M);
    let v;
    if (onePass) v = f(f(q / M) - f(mean * mean));
    else { v = 0; for (let i = o; i < o + M; i++) { const d = f(x[i] - mean); v = f(v + f(d * d)); } v = f(v / M); }
    const r = f(1 / f(Math.sqrt(f(Math.max(v, 0) + 1e-5))));
    for (let i = o; i < o + M; i++) y[i] = f(f(x[i] - mean) * r);
  }
  return y;
}

const cases = [
  ['N(0,1)', 0, 1, 4096],
  ['1e4 + N(0,1)', 1e4, 1, 4096],
  ['1e4 + N(0,1), 2^20 per plane', 1e4, 1, 1 << 20],
  ['1e6 + N(0,1)', 1e6, 1, 4096],
  ['1 + N(0,1e-3)', 1, 1e-3, 4096],
  // Short planes (8x8) go through the plane-batch kernels, 256 planes here.
  ['N(0,1), M = 64', 0, 1, 64, 256],
  ['1e4 + N(0,1), M = 64', 1e4, 1, 64, 256],
  ['1 + N(0,1e-3), M = 64', 1, 1e-3, 64, 256],
];
const rows = [...internal.nativeIsas().map((isa) => ({ name: `native ${isa}`, isa })), { name: 'js fallback' }];
const fmt = (v) => (Number.isFinite(v) ? v.toExponential(1) : String(v));

console.log('forward: max |y - y_ref| (gamma = 1, beta = 0; shape [1, P, M], P = 2 unless said) / backward: max |dx - dx_ref| / max |dx_ref|');
console.log(['input'.padEnd(30), ...rows.map((r) => r.name.padStart(16)), 'naive 2-pass'.padStart(14), 'naive E[x2]-E[x]2'.padStart(18)].join(' '));
for (const [name, offset, scale, M, P = 2] of cases) {
  const shape = [1, P, M];
  const x = normals(P * M, 7, offset, scale);
  const dy = normals(P * M, 8);
  const ref = refInstanceNorm(x, shape, { eps: 1e-5 }).y;
  const refB = refInstanceNormBackward(dy, x, shape, { eps: 1e-5 }).dx;
  const cells = rows.map((r) => {
    internal.useBackend(r.isa ? 'native' : 'js');
    if (r.isa) internal.setIsa(r.isa);
    const y = lib.instanceNorm(x, shape);
    const { dx } = lib.instanceNormBackward(dy, x, shape);
    internal.useBackend('native');
    return `${fmt(maxAbsDiff(y, ref))} / ${fmt(maxAbsDiff(dx, refB) / maxAbs(refB))}`.padStart(16);
  });
  console.log([name.padEnd(30), ...cells, fmt(maxAbsDiff(naive(x, M, false), ref)).padStart(14), fmt(maxAbsDiff(naive(x, M, true), ref)).padStart(18)].join(' '));
}
