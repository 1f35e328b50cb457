// instanceNorm forward: parity with the float64 reference and the JS
// fallback in both layouts with per-channel and per-sample affine, views and
// in-place calls, numerics on adversarial data, and its properties.
import { describe, expect, it } from 'vitest';
import { F, label, lib, onJs, unavailable } from '../helpers/backend-under-test';
import { fromLayout, makeData, normals, numel, rng, toLayout } from '../helpers/data.mjs';
import { fwdErr, maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import { refInstanceNorm } from '../helpers/reference.mjs';
import {
  expectStats, GRID, KINDS, LARGE, type Layout, LAYOUTS, lo, mean, NHWC_CHANNELS, params, sample, TOL,
} from '../helpers/op-checks';
import { LARGE_SPATIAL, PLANE_SIZES, spatialShapes } from '../helpers/shapes';

function case_(shape: number[], seed: number, offset = 0, scale = 1) {
  const C = shape[1];
  const x = normals(numel(shape), seed, offset, scale);
  const gamma = normals(C, seed + 1, 1, 0.5);
  const beta = normals(C, seed + 2, 0, 1);
  return { x, gamma, beta };
}

const ref = (x: Float32Array, shape: number[], gamma?: Float32Array | null, beta?: Float32Array | null, eps = 1e-5) =>
  refInstanceNorm(x, shape, { gamma, beta, eps });

// Skipped only when this project's ISA is not on this CPU (the reason is printed).
describe.skipIf(unavailable !== null)(`instanceNorm forward on ${label}`, () => {
  describe.each(PLANE_SIZES.flatMap((m) => spatialShapes(m).map((sp) => [m, sp] as const)))(
    'plane of %i elements as spatial %j',
    (m, spatial) => {
      const shape = [2, 3, ...spatial];
      it.each([true, false])('affine=%s matches float64 and the JS fallback', (affine) => {
        const { x, gamma, beta } = case_(shape, m * 7 + spatial.length);
        const g = affine ? gamma : undefined;
        const b = affine ? beta : undefined;
        const mean = new Float32Array(6);
        const rstd = new Float32Array(6);
        const y = lib.instanceNorm(x, shape, { gamma: g, beta: b, mean, rstd });
        const r = ref(x, shape, g, b);
        expect(fwdErr(y, r.y)).toBeLessThanOrEqual(TOL);
        const yj = onJs(() => lib.instanceNorm(x, shape, { gamma: g, beta: b }));
        expect(fwdErr(y, yj)).toBeLessThanOrEqual(TOL);
        expectStats(mean, rstd, r, 'instanceNorm');
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
      expect(fwdErr(y, ref(x, shape, gamma, beta).y)).toBeLessThanOrEqual(TOL);
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
    const r = ref(x, shape, gamma, beta).y;
    const err = maxAbsDiff(y, r);
    expect(err).toBeLessThanOrEqual(1e-4);
    expect(err).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(r)));
  });

  it('naive E[x^2]-E[x]^2 would fail here; we do not (spike far from the rest)', () => {
    const shape = [1, 1, 4099];
    const x = normals(4099, 23, 0, 1e-3);
    x[1234] = 1e6;
    const y = lib.instanceNorm(x, shape);
    expect(fwdErr(y, ref(x, shape).y)).toBeLessThanOrEqual(TOL);
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
    expect(fwdErr(y.subarray(17), ref(x.subarray(17), [1, 1, 17], null, Float32Array.of(2), 0).y)).toBeLessThanOrEqual(TOL);
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

// ---------------------------------------------------------------------------
// Channels-last and per-sample affine.

function checkInstanceNorm(shape: number[], layout: Layout, affine: 'none' | 'C' | 'N*C', x: Float32Array, seed: number) {
  const [N, C] = shape;
  const p = affine === 'none' ? null : params(affine === 'C' ? C : N * C, seed);
  const mean = new Float32Array(N * C);
  const rstd = new Float32Array(N * C);
  const a = toLayout(x, shape, layout);
  const y = F.instanceNorm(a.x, a.shape, { gamma: p?.gamma, beta: p?.beta, mean, rstd, ...lo(layout) });
  const r = refInstanceNorm(x, shape, { gamma: p?.gamma, beta: p?.beta });
  const ctx = `instanceNorm ${layout} ${JSON.stringify(shape)} affine=${affine}`;
  expect(fwdErr(fromLayout(y, shape, layout), r.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, r, ctx);
}

describe.skipIf(unavailable !== null)(`instanceNorm (channels-last, per-sample affine) on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => (['none', 'C', 'N*C'] as const).map((a) => [l, a] as const)))(
      'layout %s, affine %s matches float64',
      (layout, affine) => {
        const shape = [2, 3, ...spatial];
        checkInstanceNorm(shape, layout, affine, makeData('normal', shape, m + spatial.length), 7 * m);
      },
    );
  });

  it.each(NHWC_CHANNELS.flatMap((C) => [1, 7, 33, 1023].map((m) => [C, m] as const)))('NHWC with C = %i, %i pixels', (C, m) => {
    const shape = [2, C, m];
    const x = makeData('normal', shape, C * 100 + m);
    checkInstanceNorm(shape, 'NHWC', 'N*C', x, C + m);
    checkInstanceNorm([2, C, m === 1023 ? 31 : 1, m === 1023 ? 33 : m], 'NHWC', 'C', x, C + m + 1);
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [3, 4, 17, 61];
    checkInstanceNorm(shape, layout, 'N*C', makeData(kind, shape, 5), 9);
  });

  it('per-sample gamma/beta equal to the per-channel ones repeated give the same result', () => {
    const shape = [3, 5, 7, 9];
    const x = normals(numel(shape), 4);
    const { gamma, beta } = params(5, 8);
    const rep = (a: Float32Array) => Float32Array.from({ length: 15 }, (_, i) => a[i % 5]);
    for (const layout of LAYOUTS) {
      const a = toLayout(x, shape, layout);
      const y1 = F.instanceNorm(a.x, a.shape, { gamma, beta, ...lo(layout) });
      const y2 = F.instanceNorm(a.x, a.shape, { gamma: rep(gamma), beta: rep(beta), ...lo(layout) });
      expect(maxAbsDiff(y1, y2)).toBeLessThanOrEqual(1e-6);
    }
  });

  it("layout 'NCHW' given explicitly is the default", () => {
    const shape = [2, 3, 5, 7];
    const x = normals(numel(shape), 3);
    const { gamma, beta } = params(3, 1);
    expect(F.instanceNorm(x, shape, { gamma, beta, layout: 'NCHW' })).toEqual(F.instanceNorm(x, shape, { gamma, beta }));
  });

  it('NHWC in place (out === x)', () => {
    const shape = [2, 6, 5, 9];
    const { x, shape: s } = toLayout(normals(numel(shape), 13), shape, 'NHWC');
    const expected = F.instanceNorm(x, s, { layout: 'NHWC' });
    const buf = x.slice();
    expect(F.instanceNorm(buf, s, { layout: 'NHWC', out: buf })).toBe(buf);
    expect(buf).toEqual(expected);
  });

  it.each(LAYOUTS)('a constant input normalizes to beta exactly (layout %s)', (layout) => {
    const shape = [2, 4, 5, 7];
    const a = toLayout(new Float32Array(numel(shape)).fill(-1234.5), shape, layout);
    const { gamma, beta } = params(4, 3);
    const want = Float32Array.from({ length: a.x.length }, (_, e) => beta[Math.floor(e / 35) % 4]);
    expect(fromLayout(F.instanceNorm(a.x, a.shape, { gamma, beta, ...lo(layout) }), shape, layout)).toEqual(want);
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), per-sample affine, layout %s', (layout) => {
    const x = makeData('mixed', LARGE, 99);
    const a = toLayout(x, LARGE, layout);
    const p = params(128, 6);
    const y = F.instanceNorm(a.x, a.shape, { gamma: p.gamma, beta: p.beta, ...lo(layout) });
    expect(fwdErr(fromLayout(y, LARGE, layout), refInstanceNorm(x, LARGE, p).y)).toBeLessThanOrEqual(TOL);
  });
});

// ---------------------------------------------------------------------------
// Properties: invariances and style removal.

describe.skipIf(unavailable !== null)(`instanceNorm properties on ${label}`, () => {
  describe.each(LAYOUTS)('(a) scale invariance per image, layout %s', (layout) => {
    const shape = [3, 4, 9, 13];
    const per = numel(shape) / 3;
    // Moderate per-plane offsets and spreads: scaling float32 data by a non-power of two
    // rounds it, and on planes of offset/spread ~1e6 (the 'mixed' data) that rounding
    // alone changes the normalized output.
    const x = makeData('normal', shape, 1).map((v, e) => 2 + (Math.floor(e / 117) % 5) + v * (1 + (Math.floor(e / 117) % 3)));
    const a = toLayout(x, shape, layout);
    const gamma = normals(12, 2, 1, 0.5); // per-sample
    const beta = normals(12, 3);

    it.each([3.5, 1e-3, 1e3])('instance norm: image 1 scaled by %d > 0 gives the same output (eps = 0)', (s) => {
      const xs = a.x.slice();
      sample(xs, 1, per).forEach((e, i, arr) => { arr[i] = e * s; });
      const y1 = F.instanceNorm(a.x, a.shape, { eps: 0, gamma, beta, ...lo(layout) });
      const y2 = F.instanceNorm(xs, a.shape, { eps: 0, gamma, beta, ...lo(layout) });
      expect(maxAbsDiff(y1, y2) / (1 + maxAbs(y1))).toBeLessThanOrEqual(1e-5);
      // The other images are untouched, bit for bit.
      expect(sample(y2, 0, per)).toEqual(sample(y1, 0, per));
      expect(sample(y2, 2, per)).toEqual(sample(y1, 2, per));
    });

    it.each([-1, -2, -1e-2])('instance norm: scaling by %d < 0 flips the sign of the output (beta = 0)', (s) => {
      const y1 = F.instanceNorm(a.x, a.shape, { eps: 0, gamma, ...lo(layout) });
      const y2 = F.instanceNorm(a.x.map((v) => v * s), a.shape, { eps: 0, gamma, ...lo(layout) });
      expect(maxAbsDiff(y1, y2.map((v: number) => -v)) / (1 + maxAbs(y1))).toBeLessThanOrEqual(1e-5);
    });
  });

  it('(c) style removal: instance norm removes each image\'s global contrast and brightness; batch norm (inference) keeps them', () => {
    const N = 16;
    const shape = [N, 3, 24, 24];
    const per = numel(shape) / N;
    const r = rng(77);
    const x = new Float32Array(numel(shape));
    const inMeans: number[] = [];
    for (let n = 0; n < N; n++) {
      const a = Math.exp((r.uniform() * 2 - 1) * 2); // contrast 0.14 .. 7.4
      const b = (r.uniform() * 2 - 1) * 500; // brightness -500 .. 500
      const base = normals(per, 100 + n, 0, 1);
      // Each image's channels differ too (a colour cast), on top of the global a, b.
      for (let i = 0; i < per; i++) x[n * per + i] = a * (base[i] + Math.floor(i / (per / 3)) * 0.7) + b;
      inMeans.push(mean(x.subarray(n * per, (n + 1) * per)));
    }
    for (const layout of LAYOUTS) {
      const a = toLayout(x, shape, layout);
      const yi = F.instanceNorm(a.x, a.shape, lo(layout));
      const outIN = Array.from({ length: N }, (_, n) => mean(sample(yi, n, per)));
      // Every image's output has mean ~0 whatever its input mean (which spans +-500): the
      // correlation is nil. (Pearson's r of values at rounding level would only measure
      // rounding noise, so the stronger statement is checked instead, and the
      // regression slope of output on input mean must be ~0 as well.)
      expect(maxAbs(outIN), `${layout}: instance norm output means`).toBeLessThan(1e-5);
      const mi = mean(inMeans);
      const mo = mean(outIN);
      const slope = outIN.reduce((s, v, n) => s + (v - mo) * (inMeans[n] - mi), 0) / inMeans.reduce((s, v) => s + (v - mi) ** 2, 0);
      expect(Math.abs(slope), `${layout}: IN slope`).toBeLessThan(1e-7);
      // Batch norm with fixed running statistics keeps each image's brightness.
      const yb = F.batchNorm(a.x, a.shape, { runningMean: Float32Array.of(10, 20, 30), runningVar: Float32Array.of(900, 900, 900), ...lo(layout) });
      const outBN = Array.from({ length: N }, (_, n) => mean(sample(yb, n, per)));
      expect(Math.abs(pearson(outBN, inMeans)), `${layout}: BN correlation`).toBeGreaterThan(0.9);
      // And batch norm in training mode removes only the batch's mean, not each image's.
      const yt = F.batchNorm(a.x, a.shape, { training: true, ...lo(layout) });
      const outT = Array.from({ length: N }, (_, n) => mean(sample(yt, n, per)));
      expect(Math.abs(pearson(outT, inMeans)), `${layout}: BN training correlation`).toBeGreaterThan(0.9);
    }
  });
});

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i] / n; mb += b[i] / n; }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
