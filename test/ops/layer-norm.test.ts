// layerNorm and layerNormBackward (no layout option: rows are the last
// normalizedRank dims): parity with the float64 reference for every
// normalizedRank, adversarial data, the threaded path, finite-difference
// gradient checks and properties.
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { makeData, normals, numel, randn64, toLayout } from '../helpers/data.mjs';
import { fwdErr, maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import { refLayerNorm, refLayerNormBackward } from '../helpers/reference.mjs';
import { describeGradChecks, EPS, type GradCase, rename } from '../helpers/gradcheck';
import { expectGrads, expectStats, GRID, KINDS, LARGE, LAYOUTS, params, sample, TOL } from '../helpers/op-checks';

function checkLayerNorm(shape: number[], k: number, affine: boolean, x: Float32Array, seed: number) {
  const L = numel(shape.slice(shape.length - k));
  const Rn = numel(shape) / L;
  const p = affine ? params(L, seed) : null;
  const mean = new Float32Array(Rn);
  const rstd = new Float32Array(Rn);
  const y = F.layerNorm(x, shape, k, { gamma: p?.gamma, beta: p?.beta, mean, rstd });
  const ref = refLayerNorm(x, shape, k, { gamma: p?.gamma, beta: p?.beta });
  const ctx = `layerNorm ${JSON.stringify(shape)} normalizedRank=${k} affine=${affine}`;
  expect(fwdErr(y, ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, ref, ctx);
}

function checkLN(shape: number[], k: number, affine: boolean, saved: boolean, x: Float32Array, seed: number) {
  const L = numel(shape.slice(shape.length - k));
  const dy = normals(x.length, seed + 1000);
  const p = affine ? params(L, seed) : null;
  const opts: Record<string, unknown> = { gamma: p?.gamma };
  if (saved) {
    opts.mean = new Float32Array(x.length / L);
    opts.rstd = new Float32Array(x.length / L);
    F.layerNorm(x, shape, k, { gamma: p?.gamma, mean: opts.mean, rstd: opts.rstd });
  }
  const got = F.layerNormBackward(dy, x, shape, k, opts);
  const ref = refLayerNormBackward(dy, x, shape, k, { gamma: p?.gamma });
  expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `layerNormBackward ${JSON.stringify(shape)} normalizedRank=${k} affine=${affine} saved=${saved}`);
}

describe.skipIf(unavailable !== null)(`layerNorm on ${label}`, () => {
  describe.each(GRID)('[2, 3, ...spatial] with %i elements as spatial %j', (m, spatial) => {
    const shape = [2, 3, ...spatial];
    it.each(Array.from({ length: shape.length }, (_, i) => i + 1))('normalizedRank %i matches float64', (k) => {
      const x = makeData('normal', shape, m + k);
      checkLayerNorm(shape, k, true, x, k);
      checkLayerNorm(shape, k, false, x, k);
    });
  });

  it.each([[[1]], [[7]], [[1023]], [[5, 17]], [[33, 1]], [[1, 33]], [[4, 1, 257]]])('low-rank shape %j, every normalizedRank', (shape) => {
    for (let k = 1; k <= shape.length; k++) checkLayerNorm(shape, k, true, makeData('normal', [1, 1, numel(shape)], k), k);
  });

  it.each(KINDS)('adversarial %s data', (kind) => {
    const shape = [3, 4, 17, 13];
    const x = makeData(kind, shape, 21);
    for (let k = 1; k <= 4; k++) checkLayerNorm(shape, k, true, x, k);
  });

  it('a transformer-like [tokens, hidden] input', () => {
    const shape = [37, 768];
    checkLayerNorm(shape, 1, true, makeData('normal', [1, 1, numel(shape)], 1), 2);
  });

  it('a constant input normalizes to beta exactly', () => {
    const shape = [2, 4, 5, 7];
    const x = new Float32Array(numel(shape)).fill(-1234.5);
    const lb = normals(140, 1);
    expect(F.layerNorm(x, shape, 3, { gamma: normals(140, 2), beta: lb })).toEqual(Float32Array.from({ length: 280 }, (_, e) => lb[e % 140]));
  });

  it('a [2, 64, 48, 48] tensor (threaded path): layerNorm over the last 1, 2 and 3 dims', () => {
    const x = makeData('mixed', LARGE, 99);
    for (const k of [1, 2, 3]) checkLayerNorm(LARGE, k, true, x, k);
  });
});

describe.skipIf(unavailable !== null)(`layerNormBackward on ${label}`, () => {
  describe.each(GRID)('[2, 3, ...spatial] with %i elements as spatial %j', (m, spatial) => {
    const shape = [2, 3, ...spatial];
    it.each(Array.from({ length: shape.length }, (_, i) => i + 1))('normalizedRank %i', (k) => {
      const x = makeData('normal', shape, m + k);
      for (const affine of [true, false]) for (const saved of [true, false]) checkLN(shape, k, affine, saved, x, k);
    });
  });

  it.each([[[7]], [[1023]], [[5, 17]], [[33, 1]], [[4, 1, 257]], [[37, 768]]])('low-rank shape %j, every normalizedRank', (shape) => {
    for (let k = 1; k <= shape.length; k++) checkLN(shape, k, true, k % 2 === 0, makeData('normal', [1, 1, numel(shape)], k), k);
  });

  it.each(KINDS)('adversarial %s data', (kind) => {
    const shape = [3, 4, 17, 13];
    const x = makeData(kind, shape, 21);
    for (let k = 1; k <= 4; k++) checkLN(shape, k, true, k === 2, x, k);
  });

  it('a [2, 64, 48, 48] tensor (threaded path): layerNormBackward over the last 1, 2 and 3 dims', () => {
    const x = makeData('mixed', LARGE, 199);
    for (const k of [1, 2, 3]) checkLN(LARGE, k, true, k === 2, x, k);
  });
});

// ---------------------------------------------------------------------------
// Gradient checks.

function layerNormCase(shape: number[], k: number): GradCase {
  const L = numel(shape.slice(shape.length - k));
  return {
    name: `layerNorm ${JSON.stringify(shape)} normalizedRank=${k}`,
    inputs: () => ({ x: randn64(numel(shape), 4, -1, 3), gamma: randn64(L, 5, 1, 0.5), beta: randn64(L, 6) }),
    wrt: ['x', 'gamma', 'beta'],
    outputs: numel(shape),
    forward: (a) => refLayerNorm(a.x, shape, k, { gamma: a.gamma, beta: a.beta, eps: EPS }).y,
    backward: (w, a) => rename(refLayerNormBackward(w, a.x, shape, k, { gamma: a.gamma, eps: EPS }), { x: 'dx', gamma: 'dgamma', beta: 'dbeta' }),
    lib: (w, a) => {
      const g = F.layerNormBackward(w, a.x, shape, k, { gamma: a.gamma, eps: EPS });
      return { x: g.dx, gamma: g.dgamma, beta: g.dbeta };
    },
    layouts: ['NCHW'],
  };
}

describe.skipIf(unavailable !== null)(`layerNorm gradients on ${label}`, () => {
  describeGradChecks('gradient checks', [layerNormCase([2, 3, 4], 2), layerNormCase([3, 7], 1), layerNormCase([2, 2, 3], 3)]);
});

// ---------------------------------------------------------------------------
// Properties.

describe.skipIf(unavailable !== null)(`layerNorm properties on ${label}`, () => {
  // Over (C, H, W) of a channels-first tensor or (H, W, C) of a channels-last one: either way, per image.
  it.each(LAYOUTS)('(a) layer norm is scale invariant per image (data arranged %s)', (layout) => {
    const shape = [3, 4, 9, 13];
    const per = numel(shape) / 3;
    const x = makeData('normal', shape, 1).map((v, e) => 2 + (Math.floor(e / 117) % 5) + v * (1 + (Math.floor(e / 117) % 3)));
    const a = toLayout(x, shape, layout);
    const xs = a.x.slice();
    sample(xs, 2, per).forEach((e, i, arr) => { arr[i] = e * 7.25; });
    const l1 = F.layerNorm(a.x, a.shape, 3, { eps: 0 });
    const l2 = F.layerNorm(xs, a.shape, 3, { eps: 0 });
    expect(maxAbsDiff(l1, l2)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(l1)));
  });
});
