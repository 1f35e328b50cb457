// Resident memory around one scenario, in a process of its own (run by
// retention.test.ts with --expose-gc): warm up every op (so one-time costs
// such as the thread pool are in the baseline), make the inputs, collect
// garbage, read VmRSS, run the scenario, drop its results, collect garbage,
// read VmRSS again. Prints one JSON line { scenario, baseMiB, peakMiB,
// afterMiB, retainedMiB, threads }.
//
// Usage: node --expose-gc measure.mjs <scenario>
//   backward-4Mi-planes | backward-4Mi-planes-async8 | nhwc-4Mi-channels | layer-backward-16x1Mi | steady
import * as fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lib = require('../../dist/index.js');
const MiB = 1 << 20;

function rss() {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return Number(m[1]) * 1024;
}
let peak = 0;
const sample = () => { peak = Math.max(peak, rss()); };
async function settle() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  return rss();
}
const randn = (n, seed) => {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
};

/** One small call of every op, sync and async: code, pool threads, first-touch costs. */
async function warmUp() {
  const s = [2, 8, 64, 64];
  const n = 2 * 8 * 64 * 64;
  for (let k = 0; k < 2; k++) await everyOp(s, randn(n, 1), randn(n, 2));
}

/** Every exported operation once on shape s (sync, then async). */
export async function everyOp(s, x, dy) {
  const c = s[1];
  const g = randn(c, 3).map((v) => v + 1);
  const table = randn(2 * c, 4);
  const cond = new Int32Array(s[0]).map((_, i) => i % 2);
  const style = randn(c * 16, 5);
  const calls = [
    (F, A) => F[`instanceNorm${A}`](x, s, { gamma: g }),
    (F, A) => F[`instanceNormBackward${A}`](dy, x, s, { gamma: g }),
    (F, A) => F[`groupNorm${A}`](x, s, 2, { layout: 'NHWC' }),
    (F, A) => F[`groupNormBackward${A}`](dy, x, s, 2, { layout: 'NHWC' }),
    (F, A) => F[`conditionalInstanceNorm${A}`](x, s, cond, table, table),
    (F, A) => F[`conditionalInstanceNormBackward${A}`](dy, x, s, cond, table, table),
    (F, A) => F[`batchNorm${A}`](x, s, { training: true }),
    (F, A) => F[`batchNormBackward${A}`](dy, x, s, { training: true }),
    (F, A) => F[`layerNorm${A}`](x, s, 2),
    (F, A) => F[`layerNormBackward${A}`](dy, x, s, 2),
    (F, A) => F[`rmsNorm${A}`](x, s, 2),
    (F, A) => F[`rmsNormBackward${A}`](dy, x, s, 2),
    (F, A) => F[`adaIN${A}`](x, s, style, [1, c, 4, 4]),
    (F, A) => F[`adaINBackward${A}`](dy, x, s, style, [1, c, 4, 4]),
    (F, A) => F[`moments${A}`](x, s, { over: 'group', groups: 2 }),
  ];
  for (const call of calls) {
    call(lib, '');
    await call(lib, 'Async');
  }
}

const FOUR_MI = 4 << 20;
const scenarios = {
  // The finding 4 scenarios.
  'backward-4Mi-planes': async () => {
    const x = randn(FOUR_MI, 1), dy = randn(FOUR_MI, 2);
    return measure(async () => { lib.instanceNormBackward(dy, x, [1, FOUR_MI, 1]); });
  },
  'backward-4Mi-planes-async8': async () => {
    const x = randn(FOUR_MI, 1), dy = randn(FOUR_MI, 2);
    return measure(async () => {
      const ps = Array.from({ length: 8 }, () => lib.instanceNormBackwardAsync(dy, x, [1, FOUR_MI, 1]));
      const t = setInterval(sample, 5);
      await Promise.all(ps);
      clearInterval(t);
    });
  },
  'nhwc-4Mi-channels': async () => {
    const shape = [1, 2, FOUR_MI];
    const x = randn(2 * FOUR_MI, 1), dy = randn(2 * FOUR_MI, 2);
    return measure(async () => {
      lib.instanceNorm(x, shape, { layout: 'NHWC' });
      sample();
      lib.instanceNormBackward(dy, x, shape, { layout: 'NHWC' });
    });
  },
  'layer-backward-16x1Mi': async () => {
    const x = randn(16 << 20, 1), dy = randn(16 << 20, 2);
    return measure(async () => { lib.layerNormBackward(dy, x, [16, 1 << 20], 1); });
  },
  // Steady state: every op, sync and async, 30 rounds on [4, 32, 64, 64] after 5 rounds of warm-up.
  steady: async () => {
    const s = [4, 32, 64, 64];
    const n = 4 * 32 * 64 * 64;
    const x = randn(n, 1), dy = randn(n, 2);
    for (let k = 0; k < 5; k++) await everyOp(s, x, dy);
    return measure(async () => { for (let k = 0; k < 30; k++) await everyOp(s, x, dy); }, { rounds: 30 });
  },
};

async function measure(run, extra = {}) {
  const base = await settle();
  peak = base;
  await run();
  sample();
  const after = await settle();
  return { baseMiB: base / MiB, peakMiB: peak / MiB, afterMiB: after / MiB, retainedMiB: (after - base) / MiB, ...extra };
}

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
await warmUp();
const r = await scenarios[name]();
console.log(JSON.stringify({ scenario: name, backend: lib.backend(), uvThreads: Number(process.env.UV_THREADPOOL_SIZE || 4), ...r }));
