// One stress worker (run by stress.mjs in a worker_thread): until told to
// stop, calls random operations, sync and async, on random shapes (now and
// then a large one, so that a termination often lands mid-call), and
// checks every result against the JS backend computed in this worker.
// Reports counts and mismatches to the main thread.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const lib = require('../../dist/index.js');
const internal = require('../../dist/internal.js');

let seed = workerData.seed >>> 0;
const rand = () => {
  seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
  return seed / 4294967296;
};
const pick = (a) => a[Math.floor(rand() * a.length)];
const data = (n, off = 0) => Float32Array.from({ length: n }, () => off + (rand() - 0.5) * 3.4);

// Planes of at least 16 elements keep the comparison away from cancellation.
function shape() {
  if (rand() < workerData.largeShare) return [4, 32, 128, 128];
  return [1 + Math.floor(rand() * 3), pick([1, 3, 8, 16]), pick([4, 16, 33]), pick([4, 7, 16])];
}

/** [name, (x, dy, shape) => result, which outputs to compare]. */
const OPS = [
  ['instanceNorm', (F, x, dy, s) => F.instanceNorm(x, s, { gamma: data(s[1], 1), beta: data(s[1]) })],
  ['instanceNormBackward', (F, x, dy, s) => F.instanceNormBackward(dy, x, s, { gamma: data(s[1], 1) })],
  ['groupNorm', (F, x, dy, s) => F.groupNorm(x, s, 1, { layout: 'NHWC' })],
  ['groupNormBackward', (F, x, dy, s) => F.groupNormBackward(dy, x, s, 1)],
  ['layerNorm', (F, x, dy, s) => F.layerNorm(x, s, 2)],
  ['layerNormBackward', (F, x, dy, s) => F.layerNormBackward(dy, x, s, 2)],
  ['rmsNorm', (F, x, dy, s) => F.rmsNorm(x, s, 2)],
  ['rmsNormBackward', (F, x, dy, s) => F.rmsNormBackward(dy, x, s, 2)],
  ['batchNorm', (F, x, dy, s) => F.batchNorm(x, s, { training: true })],
  ['batchNormBackward', (F, x, dy, s) => F.batchNormBackward(dy, x, s, { training: true })],
  ['adaIN', (F, x, dy, s) => F.adaIN(x, s, data(s[1] * 64, 2), [1, s[1], 8, 8])],
  ['moments', (F, x, dy, s) => F.moments(x, s, { over: 'batch' })],
];

const arrays = (r) => (ArrayBuffer.isView(r) ? { y: r } : Object.fromEntries(Object.entries(r).filter(([, v]) => ArrayBuffer.isView(v))));

/** max |a - b| / max(1, max |b|): data N(0, 1)-like, sets of >= 16 elements. */
function err(a, b) {
  let d = 0;
  let m = 1;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return a.length === b.length && !Number.isNaN(d) ? d / m : Infinity;
}

let stop = false;
parentPort.on('message', (m) => { if (m === 'stop') stop = true; });

let calls = 0;
const mismatches = [];
while (!stop) {
  const [name, call] = pick(OPS);
  const s = shape();
  const n = s.reduce((a, b) => a * b, 1);
  const x = data(n, rand() < 0.2 ? 100 : 0);
  const dy = data(n);
  const async = rand() < 0.5;
  parentPort.postMessage({ current: `${name}${async ? 'Async' : ''} ${JSON.stringify(s)}` });
  const saved = seed;
  let got;
  if (async) {
    // The async variant: the same call with ...Async.
    const F = new Proxy(lib, { get: (t, k) => t[`${String(k)}Async`] });
    got = arrays(await call(F, x, dy, s));
  } else {
    got = arrays(call(lib, x, dy, s));
  }
  if (rand() < (workerData.setThreadsShare ?? 0.05)) lib.setThreads(1 + Math.floor(rand() * 4));
  // The same call on the JS backend (same random parameters: replay the generator).
  const after = seed;
  seed = saved;
  internal.useBackend('js');
  const want = arrays(call(lib, x, dy, s));
  internal.useBackend('native');
  seed = after;
  for (const [k, v] of Object.entries(want)) {
    const e = err(got[k], v);
    if (!(e <= 1e-4)) mismatches.push(`${name}${async ? 'Async' : ''} ${JSON.stringify(s)} ${k}: error ${e}`);
  }
  calls++;
  parentPort.postMessage({ calls, mismatches: mismatches.splice(0) });
  // Let the stop message in.
  await new Promise((r) => setImmediate(r));
}
parentPort.postMessage({ calls, mismatches, done: true });
// The port no longer keeps this thread alive: it exits once the message is out.
parentPort.unref();
