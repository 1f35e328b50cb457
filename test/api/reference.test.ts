// The float64 reference that every backend is compared with is itself
// checked here against central finite differences of its forward pass.
import { describe, expect, it } from 'vitest';
import { numel, refBackward, refForward, rng } from '../helpers/reference.mjs';

function randoms(n: number, seed: number, offset = 0, scale = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => offset + scale * r.normal());
}

describe('float64 reference backward vs finite differences', () => {
  it.each([
    [[2, 3, 7]], [[1, 2, 3, 5]], [[2, 2, 2, 3, 2]], [[3, 1, 17]],
  ])('shape %j', (shape) => {
    const n = numel(shape);
    const C = shape[1];
    const x = randoms(n, 1, 0.5, 2);
    const w = randoms(n, 2); // dL/dy for L = sum(w * y)
    const gamma = randoms(C, 3, 1, 0.5);
    const beta = randoms(C, 4);
    const eps = 1e-3;
    const loss = (xx: Float64Array, gg: Float64Array, bb: Float64Array): number => {
      const { y } = refForward(xx, shape, gg, bb, eps);
      let s = 0;
      for (let i = 0; i < n; i++) s += w[i] * y[i];
      return s;
    };
    const { dx, dgamma, dbeta } = refBackward(w, x, shape, gamma, eps);
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
