import { describe, expect, it } from 'vitest';
import { js, label, lib, unavailable } from '../helpers/backend-under-test';
import { maxAbs, maxAbsDiff, normals, numel, refForward } from '../helpers/reference.mjs';
import { LARGE_SPATIAL, PLANE_SIZES, spatialShapes } from '../helpers/shapes';

// fp32 output of a float64-accurate computation: a few ulps of |y| plus the
// statistics' own error (see README, Numerics). Measured worst cases are
// ~10x below these bounds on every ISA.
const TOL = 1e-5;
const close = (y: Float32Array, ref: ArrayLike<number>): number => maxAbsDiff(y, ref) / (1 + maxAbs(ref));

function case_(shape: number[], seed: number, offset = 0, scale = 1) {
  const C = shape[1];
  const x = normals(numel(shape), seed, offset, scale);
  const gamma = normals(C, seed + 1, 1, 0.5);
  const beta = normals(C, seed + 2, 0, 1);
  return { x, gamma, beta };
}

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`instanceNorm forward on ${label}`, () => {
  describe.each(PLANE_SIZES.flatMap((m) => spatialShapes(m).map((sp) => [m, sp] as const)))(
    'plane of %i elements as spatial %j',
    (m, spatial) => {
      const shape = [2, 3, ...spatial];
      it.each([true, false])('affine=%s matches float64 and the JS fallback', (affine) => {
        const { x, gamma, beta } = case_(shape, m * 7 + spatial.length);
        const g = affine ? gamma : null;
        const b = affine ? beta : null;
        const mean = new Float32Array(6);
        const rstd = new Float32Array(6);
        const y = lib.instanceNorm(x, shape, { gamma: g ?? undefined, beta: b ?? undefined, mean, rstd });
        const ref = refForward(x, shape, g, b);
        expect(close(y, ref.y)).toBeLessThanOrEqual(TOL);
        const yj = new Float32Array(x.length);
        js.instanceNormForward(x, yj, 2, 3, numel(spatial), g, b, 1e-5, null, null);
        expect(close(y, yj)).toBeLessThanOrEqual(TOL);
        expect(maxAbsDiff(mean, ref.mean)).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(ref.mean)));
        for (let p = 0; p < 6; p++) expect(Math.abs(rstd[p] / ref.rstd[p] - 1)).toBeLessThanOrEqual(1e-6);
        if (m === 1) expect(Array.from(y)).toEqual(Array.from({ length: 6 }, (_, p) => (b ? b[p % 3] : 0)));
      });
    },
  );

  it.each(LARGE_SPATIAL.map((s) => [numel(s as unknown as number[]), s] as const))(
    'large plane of %i elements (spatial %j)',
    (_m, spatial) => {
      const shape = [1, 2, ...spatial];
      const { x, gamma, beta } = case_(shape, 11, 3, 2);
      const y = lib.instanceNorm(x, shape, { gamma, beta });
      expect(close(y, refForward(x, shape, gamma, beta).y)).toBeLessThanOrEqual(TOL);
    },
  );

  it('works in place (out === x) with the same result', () => {
    const shape = [2, 5, 9, 13];
    const { x, gamma, beta } = case_(shape, 5);
    const expected = lib.instanceNorm(x, shape, { gamma, beta });
    const buf = x.slice();
    const y = lib.instanceNorm(buf, shape, { gamma, beta, out: buf });
    expect(y).toBe(buf);
    expect(buf).toEqual(expected);
  });

  it('reads and writes views at a non-zero byteOffset without touching neighbours', () => {
    const shape = [2, 3, 37];
    const n = numel(shape);
    const { x: x0, gamma, beta } = case_(shape, 6);
    const expected = lib.instanceNorm(x0, shape, { gamma, beta });
    const GUARD = 12345.5;
    const big = new Float32Array(3 + n + 5 + n + 3 + 6 + 6 + 2).fill(GUARD);
    const x = big.subarray(3, 3 + n);
    x.set(x0);
    const out = big.subarray(3 + n + 5, 3 + n + 5 + n);
    const mean = big.subarray(3 + 2 * n + 5 + 3, 3 + 2 * n + 5 + 3 + 6);
    const rstd = big.subarray(3 + 2 * n + 5 + 9, 3 + 2 * n + 5 + 15);
    lib.instanceNorm(x, shape, { gamma, beta, out, mean, rstd });
    expect(out).toEqual(expected);
    expect(x).toEqual(x0);
    const guards = [...big.subarray(0, 3), ...big.subarray(3 + n, 3 + n + 5), ...big.subarray(3 + 2 * n + 5, 3 + 2 * n + 8),
      ...big.subarray(3 + 2 * n + 5 + 15)];
    expect(guards.every((v) => v === GUARD)).toBe(true);
  });

  it('in-place views at an odd byteOffset leave the rest of the buffer alone', () => {
    const shape = [1, 2, 19];
    const big = normals(50, 3);
    const before = big.slice();
    const view = big.subarray(5, 5 + 38);
    const expected = lib.instanceNorm(view.slice(), shape);
    lib.instanceNorm(view, shape, { out: view });
    expect(view).toEqual(expected);
    expect(big.subarray(0, 5)).toEqual(before.subarray(0, 5));
    expect(big.subarray(43)).toEqual(before.subarray(43));
  });
});

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`instanceNorm numerics on ${label}`, () => {
  it.each([
    ['1e4 + N(0,1)', 1e4, 1, 4096],
    ['1e4 + N(0,1), 2^20-element planes', 1e4, 1, 1 << 20],
    ['1e6 + N(0,1)', 1e6, 1, 10_000],
    ['-3e5 + N(0,10)', -3e5, 10, 70_000],
    ['1 + N(0,1e-3) (tiny spread)', 1, 1e-3, 5000],
    ['N(0,1e3) (wide)', 0, 1e3, 100_000],
  ])('%s stays within 1e-4 of float64 (the accuracy bar) and within 1e-5 in practice', (_name, offset, scale, m) => {
    const shape = [1, 2, m];
    const { x, gamma, beta } = case_(shape, 17, offset, scale);
    const y = lib.instanceNorm(x, shape, { gamma, beta });
    const err = maxAbsDiff(y, refForward(x, shape, gamma, beta).y);
    expect(err).toBeLessThanOrEqual(1e-4);
    expect(err).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(refForward(x, shape, gamma, beta).y)));
  });

  it('naive E[x^2]-E[x]^2 would fail here; we do not (spike far from the rest)', () => {
    const shape = [1, 1, 4099];
    const x = normals(4099, 23, 0, 1e-3);
    x[1234] = 1e6;
    const y = lib.instanceNorm(x, shape);
    expect(close(y, refForward(x, shape).y)).toBeLessThanOrEqual(TOL);
  });

  it('a constant plane normalizes to beta exactly', () => {
    const shape = [2, 2, 1023];
    const x = new Float32Array(numel(shape));
    [3.7, -1e4, 0, 1e6].forEach((v, p) => x.fill(v, p * 1023, (p + 1) * 1023));
    const beta = Float32Array.of(0.25, -2);
    const y = lib.instanceNorm(x, shape, { beta, gamma: Float32Array.of(5, 7) });
    for (let p = 0; p < 4; p++) expect(y.subarray(p * 1023, (p + 1) * 1023).every((v) => v === beta[p % 2])).toBe(true);
  });

  it('eps = 0: a constant plane gives beta and rstd = Infinity; other planes are exact', () => {
    const shape = [1, 2, 17];
    const x = normals(34, 4);
    x.fill(2.5, 0, 17);
    const rstd = new Float32Array(2);
    const y = lib.instanceNorm(x, shape, { eps: 0, beta: Float32Array.of(1, 2), rstd });
    expect(Array.from(y.subarray(0, 17))).toEqual(new Array(17).fill(1));
    expect(rstd[0]).toBe(Infinity);
    expect(close(y.subarray(17), refForward(x.subarray(17), [1, 1, 17], null, Float32Array.of(2), 0).y)).toBeLessThanOrEqual(TOL);
  });

  it('a constant plane with an eps so small that 1/sqrt(eps) overflows a float still gives beta', () => {
    const x = new Float32Array(34).fill(-2.5);
    const y = lib.instanceNorm(x, [1, 2, 17], { eps: 1e-80, beta: Float32Array.of(0.5, 3) });
    expect(Array.from(y)).toEqual([...new Array(17).fill(0.5), ...new Array(17).fill(3)]);
  });

  it('NaN in a plane poisons that plane only (its mean and rstd are NaN)', () => {
    const shape = [1, 2, 33];
    const x = normals(66, 8);
    x[40] = NaN;
    const mean = new Float32Array(2);
    const rstd = new Float32Array(2);
    lib.instanceNorm(x, shape, { mean, rstd });
    expect(Number.isNaN(mean[1]) && Number.isNaN(rstd[1])).toBe(true);
    expect(Number.isFinite(mean[0]) && Number.isFinite(rstd[0])).toBe(true);
  });

  it('NaN in a plane poisons that plane\'s output only', () => {
    const shape = [1, 3, 33];
    const x = normals(99, 8);
    x[40] = NaN;
    const y = lib.instanceNorm(x, shape);
    expect(y.subarray(33, 66).every(Number.isNaN)).toBe(true);
    expect(y.subarray(0, 33).some(Number.isNaN)).toBe(false);
    expect(y.subarray(66).some(Number.isNaN)).toBe(false);
  });

  it.each([3.5, 1e-3, 1e3])('scaling the input by %d > 0 leaves the output unchanged (eps = 0)', (a) => {
    const shape = [2, 3, 7, 11];
    const x = normals(numel(shape), 9, 2, 3);
    const y1 = lib.instanceNorm(x, shape, { eps: 0 });
    const y2 = lib.instanceNorm(x.map((v) => v * a), shape, { eps: 0 });
    expect(maxAbsDiff(y1, y2)).toBeLessThanOrEqual(1e-5);
  });

  it('scaling the input by a negative factor flips the sign of the output', () => {
    const shape = [2, 3, 64];
    const x = normals(numel(shape), 10);
    const y1 = lib.instanceNorm(x, shape, { eps: 0 });
    const y2 = lib.instanceNorm(x.map((v) => -2 * v), shape, { eps: 0 });
    expect(maxAbsDiff(y1, y2.map((v) => -v))).toBeLessThanOrEqual(1e-5);
  });

  it('each output plane has mean 0 and variance var/(var+eps)', () => {
    const shape = [3, 4, 1023];
    const x = normals(numel(shape), 12, -5, 0.01);
    const y = lib.instanceNorm(x, shape, { eps: 1e-5 });
    for (let p = 0; p < 12; p++) {
      const plane = Array.from(y.subarray(p * 1023, (p + 1) * 1023));
      const mu = plane.reduce((a, b) => a + b, 0) / 1023;
      const v = plane.reduce((a, b) => a + (b - mu) ** 2, 0) / 1023;
      const xs = Array.from(x.subarray(p * 1023, (p + 1) * 1023));
      const xmu = xs.reduce((a, b) => a + b, 0) / 1023;
      const xv = xs.reduce((a, b) => a + (b - xmu) ** 2, 0) / 1023;
      expect(Math.abs(mu)).toBeLessThan(1e-6);
      expect(Math.abs(v / (xv / (xv + 1e-5)) - 1)).toBeLessThan(1e-5);
    }
  });
});
