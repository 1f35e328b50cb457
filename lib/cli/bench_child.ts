/**
 * One side of `npx instnorm bench`, run in its own process so that the
 * backend is chosen as a user's program would choose it (the JS side runs
 * with INSTNORM_BACKEND=js). Prints one JSON object on stdout.
 *
 * Timing: each measurement first runs the call for `warmupMs` (so the JIT
 * has compiled the JS backend and the caches are warm), calibrates a batch of
 * calls that takes at least `batchMs`, then takes the median per-call time
 * over `batches` batches (a self-contained loop: the CLI must not depend on
 * the project's benchmark tools).
 */
import * as os from 'node:os';

export interface BenchSpec {
  shapes: number[][];
  batches: number;
  batchMs: number;
  warmupMs: number;
  threads: boolean;
}

export interface BenchRow {
  shape: number[];
  pass: 'forward' | 'backward';
  impl: string;
  threads: number;
  usPerCall: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e3; // microseconds
}

export function timeCall(fn: () => void, spec: BenchSpec): number {
  for (const end = now() + spec.warmupMs * 1e3; now() < end;) fn();
  let k = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < k; i++) fn();
    if (now() - t0 >= spec.batchMs * 1e3 || k >= 1 << 24) break;
    k *= 2;
  }
  const perCall: number[] = [];
  for (let b = 0; b < spec.batches; b++) {
    const t0 = now();
    for (let i = 0; i < k; i++) fn();
    perCall.push((now() - t0) / k);
  }
  return median(perCall);
}

function run(spec: BenchSpec): { backend: unknown; rows: BenchRow[] } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require('../index') as typeof import('../index');
  const info = lib.backend();
  const threadCounts = info.name === 'native' && spec.threads ? [...new Set([1, os.availableParallelism()])] : [1];
  const rows: BenchRow[] = [];
  for (const shape of spec.shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const C = shape[1];
    const x = Float32Array.from({ length: n }, (_, i) => 3 + Math.sin(i * 0.37) * 2);
    const dy = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.11));
    const gamma = new Float32Array(C).fill(1.5), beta = new Float32Array(C).fill(0.25);
    const y = new Float32Array(n), dx = new Float32Array(n);
    const mean = new Float32Array(shape[0] * C), rstd = new Float32Array(shape[0] * C);
    const dgamma = new Float32Array(C), dbeta = new Float32Array(C);
    const forward = () => lib.instanceNorm(x, shape, { gamma, beta, out: y, mean, rstd });
    const backward = () => lib.instanceNormBackward(dy, x, shape, { gamma, mean, rstd, dx, dgamma, dbeta });
    rows.push({ shape, pass: 'forward', impl: 'memcpy', threads: 1, usPerCall: timeCall(() => y.set(x), spec) });
    for (const t of threadCounts) {
      lib.setThreads(t);
      rows.push({ shape, pass: 'forward', impl: info.name, threads: t, usPerCall: timeCall(forward, spec) });
      rows.push({ shape, pass: 'backward', impl: info.name, threads: t, usPerCall: timeCall(backward, spec) });
    }
  }
  return { backend: lib.backend(), rows };
}

if (require.main === module) {
  const spec = JSON.parse(process.argv[2]) as BenchSpec;
  process.stdout.write(`${JSON.stringify(run(spec))}\n`);
}
