// Every operation gives bit-identical results for any thread count: its
// statistics are merged from fixed chunks (or fixed row blocks,
// channels-last) in a fixed order, whichever thread computed them. Each
// case returns every array it produced; the shapes take each parallel path
// (see native/ops/): serial (under 256Ki elements), whole planes across
// threads, groups of small planes, planes split into chunks, channels-last
// row blocks, transformer rows.
import { afterAll, describe, expect, it } from 'vitest';
import { F, label, lib, missing, unavailable } from '../helpers/backend-under-test';
import { firstDifference } from '../helpers/bits';
import { normals, numel } from '../helpers/data.mjs';
import { maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import { refInstanceNorm, refInstanceNormBackward, refRmsNorm, refRmsNormBackward } from '../helpers/reference.mjs';

const initial = lib.getThreads();
afterAll(() => lib.setThreads(initial));

const THREADS = [2, 3, 4, 5, 7];

type Out = Record<string, Float32Array | Float64Array>;
interface ThreadCase {
  name: string;
  run: () => Out;
  /** Correct, not just consistent: checks the 1-thread result against the reference. */
  check?: (one: Out) => void;
  /** Why the case cannot run in this build (an operation not exported yet), or null. */
  skip?: string | null;
}

/** Instance norm forward, saved-statistics backward and recomputing backward. */
function instanceNormCase(name: string, shape: number[]): ThreadCase {
  const n = numel(shape);
  const x = normals(n, 3, 1e3, 2);
  const dy = normals(n, 4);
  const gamma = normals(shape[1], 5, 1, 0.3);
  const beta = normals(shape[1], 6);
  return {
    name: `instanceNorm ${name} ${JSON.stringify(shape)}`,
    run: () => {
      const mean = new Float32Array(shape[0] * shape[1]);
      const rstd = new Float32Array(shape[0] * shape[1]);
      const y = lib.instanceNorm(x, shape, { gamma, beta, mean, rstd });
      const saved = lib.instanceNormBackward(dy, x, shape, { gamma, mean, rstd });
      const fresh = lib.instanceNormBackward(dy, x, shape, { gamma });
      return { y, mean, rstd, savedDx: saved.dx, savedDgamma: saved.dgamma, savedDbeta: saved.dbeta, dx: fresh.dx, dgamma: fresh.dgamma, dbeta: fresh.dbeta };
    },
    check: (one) => {
      const ref = refInstanceNorm(x, shape, { gamma, beta });
      expect(maxAbsDiff(one.y, ref.y) / (1 + maxAbs(ref.y))).toBeLessThanOrEqual(1e-5);
      const refB = refInstanceNormBackward(dy, x, shape, { gamma });
      expect(maxAbsDiff(one.dx, refB.dx) / maxAbs(refB.dx)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(one.savedDgamma, refB.dgamma) / maxAbs(refB.dgamma)).toBeLessThanOrEqual(1e-5);
    },
  };
}

const rmsMissing = missing('rmsNorm', 'rmsNormBackward');

/** RMS norm forward with rstd, saved-statistics and recomputing backward. */
function rmsNormCase(shape: number[], k: number): ThreadCase {
  const L = numel(shape.slice(shape.length - k));
  const x = normals(numel(shape), 20, 0.5, 2);
  const dy = normals(numel(shape), 21);
  const gamma = normals(L, 22, 1, 0.1);
  return {
    name: `rmsNorm ${JSON.stringify(shape)} normalizedRank ${k}`,
    skip: rmsMissing,
    run: () => {
      const rstd = new Float32Array(x.length / L);
      const y = F.rmsNorm(x, shape, k, { gamma, rstd });
      const saved = F.rmsNormBackward(dy, x, shape, k, { gamma, rstd });
      const fresh = F.rmsNormBackward(dy, x, shape, k, { gamma });
      return { y, rstd, savedDx: saved.dx, savedDgamma: saved.dgamma, dx: fresh.dx, dgamma: fresh.dgamma };
    },
    check: (one) => {
      expect(maxAbsDiff(one.y, refRmsNorm(x, shape, k, { gamma }).y)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(one.y)));
      const refB = refRmsNormBackward(dy, x, shape, k, { gamma });
      expect(maxAbsDiff(one.dx, refB.dx) / maxAbs(refB.dx)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(one.savedDgamma, refB.dgamma) / maxAbs(refB.dgamma)).toBeLessThanOrEqual(1e-5);
    },
  };
}

const CASES: ThreadCase[] = [
  instanceNormCase('small (serial)', [2, 3, 33]),
  instanceNormCase('many planes', [4, 32, 45, 47]),
  instanceNormCase('many small planes (grouped)', [64, 64, 9, 8]),
  instanceNormCase('few large planes (split)', [1, 2, 3 * 65536 + 5]),
  instanceNormCase('one huge plane (split)', [1, 1, 5 * 65536 + 17]),
  instanceNormCase('3D volumes', [2, 3, 17, 31, 89]),
  {
    name: 'groupNorm NCHW, 32 groups',
    run: () => {
      const shape = [2, 64, 48, 48];
      const x = normals(numel(shape), 1, 50, 3);
      const dy = normals(numel(shape), 2);
      const gamma = normals(64, 3, 1, 0.2);
      const y = lib.groupNorm(x, shape, 32, { gamma, beta: normals(64, 4) });
      const g = lib.groupNormBackward(dy, x, shape, 32, { gamma });
      return { y, ...g };
    },
  },
  {
    name: 'groupNorm NCHW, 1 group (split path)',
    run: () => {
      const shape = [1, 8, 300, 300];
      const x = normals(numel(shape), 5, -20, 2);
      const dy = normals(numel(shape), 6);
      const y = lib.groupNorm(x, shape, 1);
      const g = lib.groupNormBackward(dy, x, shape, 1);
      return { y, ...g };
    },
  },
  {
    name: 'instanceNorm NHWC, per-sample affine',
    run: () => {
      const shape = [3, 40, 50, 48];
      const x = normals(numel(shape), 7, 1e3, 1);
      const dy = normals(numel(shape), 8);
      const gamma = normals(3 * 48, 9, 1, 0.2);
      const y = lib.instanceNorm(x, shape, { gamma, layout: 'NHWC' });
      const g = lib.instanceNormBackward(dy, x, shape, { gamma, layout: 'NHWC' });
      return { y, ...g };
    },
  },
  {
    name: 'batchNorm training NCHW and NHWC',
    run: () => {
      const shape = [8, 16, 48, 48];
      const x = normals(numel(shape), 10, 3, 2);
      const dy = normals(numel(shape), 11);
      const a = lib.batchNorm(x, shape, { training: true });
      const b = lib.batchNorm(x, shape, { training: true, layout: 'NHWC' });
      const g = lib.batchNormBackward(dy, x, shape, { training: true, layout: 'NHWC' });
      return { a, b, ...g };
    },
  },
  {
    name: 'layerNorm, transformer rows',
    run: () => {
      const shape = [4, 128, 768];
      const x = normals(numel(shape), 12, 0.5, 1);
      const dy = normals(numel(shape), 13);
      const gamma = normals(768, 14, 1, 0.1);
      const y = lib.layerNorm(x, shape, 1, { gamma, beta: normals(768, 15) });
      const g = lib.layerNormBackward(dy, x, shape, 1, { gamma });
      return { y, ...g };
    },
  },
  {
    name: 'adaIN, broadcast style',
    run: () => {
      const shape = [4, 64, 40, 40];
      const x = normals(numel(shape), 16);
      const style = normals(64 * 30 * 20, 17, 2, 3);
      const dy = normals(numel(shape), 18);
      const y = lib.adaIN(x, shape, style, [1, 64, 30, 20], { alpha: 0.7 });
      const g = lib.adaINBackward(dy, x, shape, style, [1, 64, 30, 20], { alpha: 0.7 });
      return { y, ...g };
    },
  },
  {
    name: 'conditionalInstanceNorm NCHW',
    run: () => {
      const shape = [4, 32, 48, 48];
      const x = normals(numel(shape), 23, -4, 2);
      const dy = normals(numel(shape), 24);
      const condition = Int32Array.of(2, 0, 2, 1);
      const gT = normals(3 * 32, 25, 1, 0.3);
      const bT = normals(3 * 32, 26);
      const y = lib.conditionalInstanceNorm(x, shape, condition, gT, bT);
      const g = lib.conditionalInstanceNormBackward(dy, x, shape, condition, gT, bT);
      return { y, ...g };
    },
  },
  {
    name: 'moments over batch, NHWC',
    run: () => {
      const shape = [4, 64, 64, 32];
      const m = lib.moments(normals(numel(shape), 19, 7, 2), shape, { over: 'batch', layout: 'NHWC' });
      return { mean: m.mean, m2: m.m2 };
    },
  },
  rmsNormCase([4, 128, 768], 1),
  rmsNormCase([8, 64, 32, 32], 2),
];

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`threads on ${label}`, () => {
  for (const c of CASES) {
    it.skipIf(!!c.skip)(`${c.name}: bit-identical for 1, ${THREADS.join(', ').replace(/, (\d+)$/, ' and $1')} threads`, () => {
      lib.setThreads(1);
      const one = c.run();
      for (const t of THREADS) {
        lib.setThreads(t);
        const r = c.run();
        for (const key of Object.keys(one)) expect(firstDifference(r[key], one[key]), `${key}, ${t} threads`).toBe(-1);
      }
      c.check?.(one);
    });
  }

  it('in place stays correct with threads (split and whole-plane paths)', () => {
    lib.setThreads(2);
    for (const shape of [[1, 2, 3 * 65536 + 5], [4, 32, 45, 47]]) {
      const x = normals(numel(shape), 9, -3, 4);
      const expected = lib.instanceNorm(x, shape);
      lib.instanceNorm(x, shape, { out: x });
      expect(firstDifference(x, expected)).toBe(-1);
    }
  });

  it('setThreads validates its argument; getThreads reports what is in use', () => {
    expect(() => lib.setThreads(0)).toThrow(RangeError);
    expect(() => lib.setThreads(1.5)).toThrow(/threads must be an integer from 1 to 1024, got 1.5/);
    expect(() => lib.setThreads(2000)).toThrow(RangeError);
    expect(() => lib.setThreads('2' as never)).toThrow(TypeError);
    lib.setThreads(3);
    expect(lib.getThreads()).toBe(lib.backend().name === 'js' ? 1 : 3);
    expect(lib.backend().threads).toBe(lib.getThreads());
  });
});
