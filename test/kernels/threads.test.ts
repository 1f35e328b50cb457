import { afterAll, describe, expect, it } from 'vitest';
import { label, lib, unavailable } from '../helpers/backend-under-test';
import { firstDifference } from '../helpers/bits';
import { maxAbs, maxAbsDiff, normals, numel, refBackward, refForward } from '../helpers/reference.mjs';

const initial = lib.getThreads();
afterAll(() => lib.setThreads(initial));

// Shapes that take each parallel path (see native/ops/group_norm.cc):
// serial (under 256Ki elements), whole planes across threads, groups of
// small planes, planes split into chunks.
const SHAPES: Record<string, number[]> = {
  'small (serial)': [2, 3, 33],
  'many planes': [4, 32, 45, 47],
  'many small planes (grouped)': [64, 64, 9, 8],
  'few large planes (split)': [1, 2, 3 * 65536 + 5],
  'one huge plane (split)': [1, 1, 5 * 65536 + 17],
  '3D volumes': [2, 3, 17, 31, 89],
};

function runAll(shape: number[], threads: number) {
  lib.setThreads(threads);
  const n = numel(shape);
  const x = normals(n, 3, 1e3, 2);
  const dy = normals(n, 4);
  const gamma = normals(shape[1], 5, 1, 0.3);
  const beta = normals(shape[1], 6);
  const mean = new Float32Array(shape[0] * shape[1]);
  const rstd = new Float32Array(shape[0] * shape[1]);
  const y = lib.instanceNorm(x, shape, { gamma, beta, mean, rstd });
  const saved = lib.instanceNormBackward(dy, x, shape, { gamma, mean, rstd });
  const fresh = lib.instanceNormBackward(dy, x, shape, { gamma });
  return { x, dy, gamma, beta, y, mean, rstd, saved, fresh };
}

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`threads on ${label}`, () => {
  it.each(Object.entries(SHAPES))('%s: results are bit-identical for 1, 2, 3, 4 and 7 threads', (_name, shape) => {
    const one = runAll(shape, 1);
    for (const t of [2, 3, 4, 7]) {
      const r = runAll(shape, t);
      for (const key of ['y', 'mean', 'rstd'] as const) expect(firstDifference(r[key], one[key]), `${key}, ${t} threads`).toBe(-1);
      for (const g of ['saved', 'fresh'] as const) {
        expect(firstDifference(r[g].dx, one[g].dx), `${g} dx, ${t} threads`).toBe(-1);
        expect(firstDifference(r[g].dgamma, one[g].dgamma), `${g} dgamma, ${t} threads`).toBe(-1);
        expect(firstDifference(r[g].dbeta, one[g].dbeta), `${g} dbeta, ${t} threads`).toBe(-1);
      }
    }
    // ... and correct, not just consistent.
    const ref = refForward(one.x, shape, one.gamma, one.beta);
    expect(maxAbsDiff(one.y, ref.y) / (1 + maxAbs(ref.y))).toBeLessThanOrEqual(1e-5);
    const refB = refBackward(one.dy, one.x, shape, one.gamma);
    expect(maxAbsDiff(one.fresh.dx, refB.dx) / maxAbs(refB.dx)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(one.saved.dgamma, refB.dgamma) / maxAbs(refB.dgamma)).toBeLessThanOrEqual(1e-5);
  });

  it('in place stays correct with threads (split and whole-plane paths)', () => {
    lib.setThreads(2);
    for (const shape of [SHAPES['few large planes (split)'], SHAPES['many planes']]) {
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
