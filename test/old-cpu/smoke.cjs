// The smoke test run under an emulated CPU (see run.mjs): load the library,
// report the backend and the ISAs it found, check that ISAs the CPU lacks
// are refused, and on every ISA it has, run forward and backward of a few
// ops (odd sizes, both layouts, one tensor above the threading threshold)
// and compare with the JS backend. Prints one JSON line.
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const lib = require(path.join(root, 'dist', 'index.js'));
const internal = require(path.join(root, 'dist', 'internal.js'));

const data = (n, seed) => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return (s / 4294967296 - 0.5) * 3;
  });
};
const S = [2, 8, 9, 7];
const n = 2 * 8 * 9 * 7;
const x = data(n, 1), dy = data(n, 2), g = data(8, 3).map((v) => v + 1);
const big = [2, 64, 48, 48];
const xb = data(2 * 64 * 48 * 48, 4);
const OPS = {
  instanceNorm: () => ({ y: lib.instanceNorm(x, S, { gamma: g }) }),
  instanceNormBackward: () => lib.instanceNormBackward(dy, x, S, { gamma: g }),
  instanceNormNHWC: () => ({ y: lib.instanceNorm(x, [2, 9, 7, 8], { layout: 'NHWC' }) }),
  instanceNormBackwardNHWC: () => lib.instanceNormBackward(dy, x, [2, 9, 7, 8], { layout: 'NHWC' }),
  groupNorm: () => ({ y: lib.groupNorm(x, S, 4) }),
  layerNorm: () => ({ y: lib.layerNorm(x, S, 2) }),
  layerNormBackward: () => lib.layerNormBackward(dy, x, S, 2),
  rmsNormBackward: () => lib.rmsNormBackward(dy, x, S, 1),
  batchNormBackward: () => lib.batchNormBackward(dy, x, S, { training: true, gamma: g }),
  adaIN: () => ({ y: lib.adaIN(x, S, data(8 * 5, 5), [1, 8, 5]) }),
  moments: () => lib.moments(x, S, { over: 'group', groups: 2 }),
  instanceNormThreaded: () => ({ y: lib.instanceNorm(xb, big) }),
};

/** max |a - b| / max(1, max |b|) over every array of the results. */
function err(a, b) {
  let e = 0;
  for (const k of Object.keys(b)) {
    let d = 0, m = 1;
    for (let i = 0; i < b[k].length; i++) {
      d = Math.max(d, Math.abs(a[k][i] - b[k][i]));
      m = Math.max(m, Math.abs(b[k][i]));
    }
    e = Math.max(e, Number.isNaN(d) ? Infinity : d / m);
  }
  return e;
}

const out = { backend: lib.backend(), isas: internal.nativeIsas(), refused: {}, errors: {} };
const ALL = process.arch === 'x64' ? ['scalar', 'avx2', 'avx512'] : ['scalar', 'neon'];
for (const isa of ALL) if (!out.isas.includes(isa)) out.refused[isa] = internal.setIsa(isa) === false;
internal.useBackend('js');
const want = Object.fromEntries(Object.entries(OPS).map(([k, f]) => [k, f()]));
internal.useBackend('native');
for (const isa of out.isas) {
  internal.setIsa(isa);
  out.errors[isa] = Math.max(...Object.entries(OPS).map(([k, f]) => err(f(), want[k])));
}
if (out.isas.length) internal.setIsa(out.isas[0]);
console.log(JSON.stringify(out));
