// The float64 reference that every backend is compared with is itself
// checked here against central finite differences of its forward pass. (The
// per-operation suites check each op's reference the same way, on the cases
// of their gradient checks; RMS norm's reference is checked here as well, so
// that it is validated before the library has the op.)
import { describe, expect, it } from 'vitest';
import { randn64 } from '../helpers/data.mjs';
import { dot, finiteDifferences } from '../helpers/metrics.mjs';
import { refInstanceNorm, refInstanceNormBackward, refRmsNorm, refRmsNormBackward } from '../helpers/reference.mjs';

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

describe('float64 reference backward vs finite differences', () => {
  it.each([
    [[2, 3, 7]], [[1, 2, 3, 5]], [[2, 2, 2, 3, 2]], [[3, 1, 17]],
  ])('shape %j', (shape) => {
    const n = numel(shape);
    const C = shape[1];
    const x = randn64(n, 1, 0.5, 2);
    const w = randn64(n, 2); // dL/dy for L = sum(w * y)
    const gamma = randn64(C, 3, 1, 0.5);
    const beta = randn64(C, 4);
    const eps = 1e-3;
    const loss = (xx: Float64Array, gg: Float64Array, bb: Float64Array): number => {
      const { y } = refInstanceNorm(xx, shape, { gamma: gg, beta: bb, eps });
      let s = 0;
      for (let i = 0; i < n; i++) s += w[i] * y[i];
      return s;
    };
    const { dx, dgamma, dbeta } = refInstanceNormBackward(w, x, shape, { gamma, eps });
    const h = 1e-6;
    const fd = (arr: Float64Array, i: number): number => {
      const keep = arr[i];
      arr[i] = keep + h;
      const up = loss(x, gamma, beta);
      arr[i] = keep - h;
      const down = loss(x, gamma, beta);
      arr[i] = keep;
      return (up - down) / (2 * h);
    };
    for (let i = 0; i < n; i++) expect(Math.abs(fd(x, i) - dx[i])).toBeLessThan(1e-6 * (1 + Math.abs(dx[i])));
    for (let c = 0; c < C; c++) {
      expect(Math.abs(fd(gamma, c) - dgamma[c])).toBeLessThan(1e-6 * (1 + Math.abs(dgamma[c])));
      expect(Math.abs(fd(beta, c) - dbeta[c])).toBeLessThan(1e-6 * (1 + Math.abs(dbeta[c])));
    }
  });
});

describe('float64 RMS norm reference', () => {
  it.each([
    [[2, 3, 7], 1, false], [[2, 3, 4], 2, false], [[2, 2, 3], 3, false], [[5, 1], 1, false], [[3, 17], 1, false],
    [[4, 6], 1, true],
  ])('backward matches finite differences: shape %j, normalizedRank %i, a zero row %s', (shape, k, zeroRow) => {
    const L = numel(shape.slice(shape.length - k));
    const eps = 1e-3;
    const x = randn64(numel(shape), 5, 0.3, 1.5);
    if (zeroRow) x.fill(0, L, 2 * L);
    const gamma = randn64(L, 6, 1, 0.5);
    const w = randn64(x.length, 7);
    const g = refRmsNormBackward(w, x, shape, k, { gamma, eps });
    const loss = () => dot(w, refRmsNorm(x, shape, k, { gamma, eps }).y);
    for (const [name, arr, grad] of [['x', x, g.dx], ['gamma', gamma, g.dgamma]] as const) {
      const fd = finiteDifferences(arr, loss);
      expect(grad.length, name).toBe(fd.length);
      for (let i = 0; i < fd.length; i++) {
        expect(Math.abs(fd[i] - grad[i]), `d${name}[${i}]: fd ${fd[i]} vs ${grad[i]}`).toBeLessThan(1e-6 * (1 + Math.abs(grad[i])));
      }
    }
  });

  it('is the definition: y = gamma * x / sqrt(mean(x^2) + eps), row by row', () => {
    const shape = [3, 5];
    const x = randn64(15, 8, 1, 2);
    const gamma = randn64(5, 9, 1, 0.5);
    const { y, rstd } = refRmsNorm(x, shape, 1, { gamma, eps: 0.25 });
    for (let r = 0; r < 3; r++) {
      const row = x.subarray(r * 5, r * 5 + 5);
      const ms = row.reduce((s, v) => s + v * v, 0) / 5;
      expect(rstd[r]).toBeCloseTo(1 / Math.sqrt(ms + 0.25), 14);
      for (let i = 0; i < 5; i++) expect(y[r * 5 + i]).toBeCloseTo((gamma[i] * row[i]) / Math.sqrt(ms + 0.25), 14);
    }
  });

  it('a row of zeros: y = 0 for any eps, rstd = 1/sqrt(eps) (Infinity for eps = 0), zero dx and no dgamma share when eps = 0', () => {
    const shape = [2, 4];
    const x = Float64Array.of(0, 0, 0, 0, 1, -2, 3, 0.5);
    const dy = Float64Array.of(1, 2, 3, 4, 0.5, 0.25, -1, 2);
    for (const eps of [1e-5, 0]) {
      const f = refRmsNorm(x, shape, 1, { eps });
      expect(Array.from(f.y.subarray(0, 4))).toEqual([0, 0, 0, 0]);
      expect(f.rstd[0]).toBe(1 / Math.sqrt(eps));
    }
    const b = refRmsNormBackward(dy, x, shape, 1, { eps: 0 });
    expect(Array.from(b.dx.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    const other = refRmsNormBackward(dy.subarray(4), x.subarray(4), [1, 4], 1, { eps: 0 });
    expect(Array.from(b.dgamma)).toEqual(Array.from(other.dgamma));
  });

  it('uses the saved rstd when given instead of recomputing with eps', () => {
    const shape = [2, 3];
    const x = randn64(6, 10);
    const dy = randn64(6, 11);
    const rstd = refRmsNorm(x, shape, 1, { eps: 0.5 }).rstd;
    const saved = refRmsNormBackward(dy, x, shape, 1, { rstd });
    const recomputed = refRmsNormBackward(dy, x, shape, 1, { eps: 0.5 });
    expect(Array.from(saved.dx)).toEqual(Array.from(recomputed.dx));
    expect(Array.from(saved.dgamma)).toEqual(Array.from(recomputed.dgamma));
  });
});
