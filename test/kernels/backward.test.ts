import { describe, expect, it } from 'vitest';
import { js, label, lib, unavailable } from '../helpers/backend-under-test';
import { maxAbs, maxAbsDiff, normals, numel, refBackward } from '../helpers/reference.mjs';
import { LARGE_SPATIAL, PLANE_SIZES, spatialShapes } from '../helpers/shapes';

// Relative to the largest reference value; measured worst cases are ~1e-7
// (see README, Numerics).
const TOL = 1e-5;
const rel = (a: ArrayLike<number>, ref: ArrayLike<number>): number => maxAbsDiff(a, ref) / Math.max(1e-30, maxAbs(ref));

function setup(shape: number[], seed: number, offset = 0, scale = 1) {
  const n = numel(shape);
  const C = shape[1];
  return {
    x: normals(n, seed, offset, scale),
    dy: normals(n, seed + 100),
    gamma: normals(C, seed + 1, 1, 0.5),
    beta: normals(C, seed + 2, 0, 1),
  };
}

function check(shape: number[], seed: number, affine: boolean, saved: boolean, offset = 0, scale = 1) {
  const { x, dy, gamma, beta } = setup(shape, seed, offset, scale);
  const g = affine ? gamma : undefined;
  const opts: Record<string, Float32Array | undefined> = { gamma: g };
  if (saved) {
    opts.mean = new Float32Array(shape[0] * shape[1]);
    opts.rstd = new Float32Array(shape[0] * shape[1]);
    lib.instanceNorm(x, shape, { gamma: g, beta: affine ? beta : undefined, mean: opts.mean, rstd: opts.rstd });
  }
  const got = lib.instanceNormBackward(dy, x, shape, opts);
  const ref = refBackward(dy, x, shape, g);
  expect(rel(got.dx, ref.dx)).toBeLessThanOrEqual(TOL);
  expect(rel(got.dgamma, ref.dgamma)).toBeLessThanOrEqual(TOL);
  expect(rel(got.dbeta, ref.dbeta)).toBeLessThanOrEqual(TOL);
  return { got, x, dy, g: g ?? null };
}

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`instanceNormBackward on ${label}`, () => {
  describe.each(PLANE_SIZES.filter((m) => m > 1).flatMap((m) => spatialShapes(m).map((sp) => [m, sp] as const)))(
    'plane of %i elements as spatial %j',
    (m, spatial) => {
      const shape = [3, 2, ...spatial];
      it.each([
        [true, true], [true, false], [false, true], [false, false],
      ])('affine=%s saved-stats=%s matches float64 and the JS fallback', (affine, saved) => {
        const { got, x, dy, g } = check(shape, m + spatial.length, affine, saved);
        const dx = new Float32Array(x.length);
        const dg = new Float32Array(2);
        const db = new Float32Array(2);
        js.instanceNormBackward(dy, x, dx, dg, db, 3, 2, m, g, null, null, 1e-5);
        expect(rel(got.dx, dx)).toBeLessThanOrEqual(TOL);
        expect(rel(got.dgamma, dg)).toBeLessThanOrEqual(TOL);
      });
    },
  );

  it('planes of one element: dx = 0, dbeta = sum dy, dgamma = 0', () => {
    const shape = [4, 3, 1];
    const { x, dy, gamma } = setup(shape, 3);
    const got = lib.instanceNormBackward(dy, x, shape, { gamma });
    expect(maxAbs(got.dx)).toBe(0);
    expect(maxAbs(got.dgamma)).toBe(0);
    for (let c = 0; c < 3; c++) {
      expect(got.dbeta[c]).toBeCloseTo(dy[c] + dy[3 + c] + dy[6 + c] + dy[9 + c], 5);
    }
  });

  it.each(LARGE_SPATIAL.map((s) => [s] as const))('large plane, spatial %j', (spatial) => {
    check([1, 2, ...spatial], 31, true, false, 2, 3);
    check([1, 2, ...spatial], 32, true, true, 2, 3);
  });

  it.each([
    ['1e4 + N(0,1)', 1e4, 1],
    ['1e6 + N(0,1)', 1e6, 1],
    ['1 + N(0,1e-3)', 1, 1e-3],
  ])('adversarial input %s, recomputed and saved stats', (_n, offset, scale) => {
    check([2, 2, 4099], 41, true, false, offset, scale);
    check([2, 2, 4099], 42, true, true, offset, scale);
  });

  it('nearly constant dy (dx is a small difference of large terms) stays accurate', () => {
    const shape = [2, 2, 1023];
    const { x, gamma } = setup(shape, 81);
    const dy = normals(numel(shape), 82, 5, 1e-3);
    const got = lib.instanceNormBackward(dy, x, shape, { gamma });
    const ref = refBackward(dy, x, shape, gamma);
    expect(rel(got.dx, ref.dx)).toBeLessThanOrEqual(TOL);
  });

  it.each(['dy', 'x'] as const)('dx may be %s itself (in place)', (which) => {
    const shape = [2, 3, 5, 7];
    const { x, dy, gamma } = setup(shape, 51);
    const expected = lib.instanceNormBackward(dy, x, shape, { gamma });
    const dy2 = dy.slice();
    const x2 = x.slice();
    const target = which === 'dy' ? dy2 : x2;
    const got = lib.instanceNormBackward(dy2, x2, shape, { gamma, dx: target });
    expect(got.dx).toBe(target);
    expect(got.dx).toEqual(expected.dx);
    expect(got.dgamma).toEqual(expected.dgamma);
  });

  it('reads and writes views at a non-zero byteOffset without touching neighbours', () => {
    const shape = [2, 2, 21];
    const n = numel(shape);
    const { x, dy, gamma } = setup(shape, 61);
    const expected = lib.instanceNormBackward(dy, x, shape, { gamma });
    const GUARD = -777.25;
    const big = new Float32Array(1 + n + 1 + n + 1 + n + 1 + 2 + 1 + 2 + 1).fill(GUARD);
    let at = 1;
    const take = (len: number) => { const v = big.subarray(at, at + len); at += len + 1; return v; };
    const xv = take(n); xv.set(x);
    const dyv = take(n); dyv.set(dy);
    const dx = take(n);
    const dgamma = take(2);
    const dbeta = take(2);
    lib.instanceNormBackward(dyv, xv, shape, { gamma, dx, dgamma, dbeta });
    expect(dx).toEqual(expected.dx);
    expect(dgamma).toEqual(expected.dgamma);
    expect(dbeta).toEqual(expected.dbeta);
    for (const i of [0, 1 + n, 2 + 2 * n, 3 + 3 * n, 6 + 3 * n, 9 + 3 * n]) expect(big[i]).toBe(GUARD);
  });

  it('eps = 0 with a constant plane: zero gradient there, exact elsewhere', () => {
    const shape = [1, 2, 33];
    const { x, dy } = setup(shape, 71);
    x.fill(4, 0, 33);
    const got = lib.instanceNormBackward(dy, x, shape, { eps: 0 });
    expect(maxAbs(got.dx.subarray(0, 33))).toBe(0);
    expect(got.dgamma[0]).toBe(0);
    const ref = refBackward(dy.subarray(33), x.subarray(33), [1, 1, 33], null, 0);
    expect(rel(got.dx.subarray(33), ref.dx)).toBeLessThanOrEqual(TOL);
  });
});
