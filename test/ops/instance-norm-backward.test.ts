// instanceNormBackward: parity with the float64 reference and the JS
// fallback in both layouts with per-channel and per-sample affine, saved and
// recomputed statistics, views and in-place calls, adversarial data, and
// finite-difference gradient checks.
import { describe, expect, it } from 'vitest';
import { F, label, lib, onJs, unavailable } from '../helpers/backend-under-test';
import { fromLayout, makeData, normals, numel, randn64, toLayout } from '../helpers/data.mjs';
import { maxAbs, relErr } from '../helpers/metrics.mjs';
import { refInstanceNorm, refInstanceNormBackward } from '../helpers/reference.mjs';
import { describeGradChecks, EPS, f32, type GradCase, io, rename } from '../helpers/gradcheck';
import { expectGrads, GRID, KINDS, LARGE, type Layout, LAYOUTS, lo, NHWC_CHANNELS, params, TOL } from '../helpers/op-checks';
import { LARGE_SPATIAL, PLANE_SIZES, spatialShapes } from '../helpers/shapes';

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
  const ref = refInstanceNormBackward(dy, x, shape, { gamma: g });
  expect(relErr(got.dx, ref.dx)).toBeLessThanOrEqual(TOL);
  expect(relErr(got.dgamma, ref.dgamma)).toBeLessThanOrEqual(TOL);
  expect(relErr(got.dbeta, ref.dbeta)).toBeLessThanOrEqual(TOL);
  return { got, x, dy, g };
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
        const j = onJs(() => lib.instanceNormBackward(dy, x, shape, { gamma: g }));
        expect(relErr(got.dx, j.dx)).toBeLessThanOrEqual(TOL);
        expect(relErr(got.dgamma, j.dgamma)).toBeLessThanOrEqual(TOL);
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
    const ref = refInstanceNormBackward(dy, x, shape, { gamma });
    expect(relErr(got.dx, ref.dx)).toBeLessThanOrEqual(TOL);
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
    const ref = refInstanceNormBackward(dy.subarray(33), x.subarray(33), [1, 1, 33], { eps: 0 });
    expect(relErr(got.dx.subarray(33), ref.dx)).toBeLessThanOrEqual(TOL);
  });
});

// ---------------------------------------------------------------------------
// Channels-last and per-sample affine.

function checkIN(shape: number[], layout: Layout, affine: 'none' | 'C' | 'N*C' | 'N*C outputs', saved: boolean, x: Float32Array, seed: number) {
  const [N, C] = shape;
  const dy = normals(x.length, seed + 1000);
  const p = affine === 'C' ? params(C, seed) : affine === 'N*C' ? params(N * C, seed) : null;
  const a = toLayout(x, shape, layout);
  const d = toLayout(dy, shape, layout).x;
  const opts: Record<string, unknown> = { gamma: p?.gamma, ...lo(layout) };
  if (saved) {
    opts.mean = new Float32Array(N * C);
    opts.rstd = new Float32Array(N * C);
    F.instanceNorm(a.x, a.shape, { gamma: p?.gamma, beta: p?.beta, mean: opts.mean, rstd: opts.rstd, ...lo(layout) });
  }
  const perSample = affine === 'N*C' || affine === 'N*C outputs';
  if (affine === 'N*C outputs') {
    opts.dgamma = new Float32Array(N * C);
    opts.dbeta = new Float32Array(N * C);
  }
  const got = F.instanceNormBackward(d, a.x, a.shape, opts);
  const ref = refInstanceNormBackward(dy, x, shape, { gamma: p?.gamma, perSample });
  expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `instanceNormBackward ${layout} ${JSON.stringify(shape)} affine=${affine} saved=${saved}`,
    ['dx'], (v) => fromLayout(v, shape, layout));
  if (affine === 'N*C outputs') expect(got.dgamma).toBe(opts.dgamma);
}

describe.skipIf(unavailable !== null)(`instanceNormBackward (channels-last, per-sample) on ${label}`, () => {
  describe.each(GRID.filter(([m]) => m > 1))('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => (['none', 'C', 'N*C', 'N*C outputs'] as const).map((a) => [l, a] as const)))(
      'layout %s, affine %s, recomputed and saved stats',
      (layout, affine) => {
        const shape = [3, 2, ...spatial];
        const x = makeData('normal', shape, m + spatial.length);
        checkIN(shape, layout, affine, false, x, m);
        checkIN(shape, layout, affine, true, x, m);
      },
    );
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const spatial of [[1], [7], [33], [31, 33]]) {
      const shape = [2, C, ...spatial];
      const x = makeData('normal', shape, C);
      checkIN(shape, 'NHWC', 'N*C', false, x, C);
      checkIN(shape, 'NHWC', 'C', true, x, C + 1);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [2, 3, 4099];
    const x = makeData(kind, shape, 8);
    checkIN(shape, layout, 'N*C', false, x, 1);
    checkIN(shape, layout, 'C', true, x, 2);
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), per-sample, layout %s', (layout) => {
    checkIN(LARGE, layout, 'N*C', true, makeData('mixed', LARGE, 199), 1);
  });

  it('per-sample instanceNormBackward without gamma: dgamma/dbeta of length N*C select per-sample mode', () => {
    const shape = [3, 2, 7];
    const x = f32(randn64(42, 1));
    const dy = f32(randn64(42, 2));
    const ref = refInstanceNormBackward(dy, x, shape, { perSample: true });
    const got = F.instanceNormBackward(dy, x, shape, { dgamma: new Float32Array(6), dbeta: new Float32Array(6) });
    expect(relErr(got.dgamma, ref.dgamma)).toBeLessThanOrEqual(1e-5);
    expect(relErr(got.dbeta, ref.dbeta)).toBeLessThanOrEqual(1e-5);
    expect(relErr(got.dx, ref.dx)).toBeLessThanOrEqual(1e-5);
    // Summing the per-sample gradients over the batch gives the per-channel ones.
    const summed = F.instanceNormBackward(dy, x, shape, {});
    for (let c = 0; c < 2; c++) expect(summed.dgamma[c]).toBeCloseTo(got.dgamma[c] + got.dgamma[2 + c] + got.dgamma[4 + c], 5);
  });
});

// ---------------------------------------------------------------------------
// Gradient checks.

function instanceNormCase(shape: number[], perSample: boolean, constantPlane = false): GradCase {
  const [N, C] = shape;
  const P = perSample ? N * C : C;
  return {
    name: `instanceNorm ${JSON.stringify(shape)} ${perSample ? 'per-sample' : 'per-channel'} affine${constantPlane ? ', a constant plane' : ''}`,
    inputs: () => {
      const x = randn64(numel(shape), 1, 0.5, 2);
      if (constantPlane) x.fill(1.25, 0, numel(shape.slice(2)));
      return { x, gamma: randn64(P, 2, 1, 0.5), beta: randn64(P, 3) };
    },
    wrt: ['x', 'gamma', 'beta'],
    outputs: numel(shape),
    forward: (a) => refInstanceNorm(a.x, shape, { gamma: a.gamma, beta: a.beta, eps: EPS }).y,
    backward: (w, a) => rename(refInstanceNormBackward(w, a.x, shape, { gamma: a.gamma, eps: EPS, perSample }), { x: 'dx', gamma: 'dgamma', beta: 'dbeta' }),
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const g = F.instanceNormBackward(t.to(w), t.to(a.x), t.shape, { gamma: a.gamma, eps: EPS, ...t.opt });
      return { x: t.from(g.dx), gamma: g.dgamma, beta: g.dbeta };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

describe.skipIf(unavailable !== null)(`instanceNorm gradients on ${label}`, () => {
  describeGradChecks('gradient checks', [
    instanceNormCase([3, 3, 2, 2, 2], true), // per-sample, 3D
    instanceNormCase([2, 3, 5], false, true), // a constant plane (eps > 0)
  ]);
});
