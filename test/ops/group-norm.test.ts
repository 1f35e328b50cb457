// groupNorm and groupNormBackward: parity with the float64 reference in both
// layouts with per-channel and per-sample affine, adversarial data, the
// threaded path, finite-difference gradient checks, and its identities with
// instance norm (groups = C) and layer norm (groups = 1).
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { fromLayout, makeData, normals, numel, randn64, toLayout } from '../helpers/data.mjs';
import { fwdErr, maxAbs, maxAbsDiff, relErr } from '../helpers/metrics.mjs';
import { refGroupNorm, refGroupNormBackward } from '../helpers/reference.mjs';
import { describeGradChecks, EPS, type GradCase, io, rename } from '../helpers/gradcheck';
import {
  expectGrads, expectStats, GRID, KINDS, LARGE, type Layout, LAYOUTS, lo, NHWC_CHANNELS, params, sample, TOL,
} from '../helpers/op-checks';

const divisorsOf = (c: number) => [1, ...Array.from({ length: c - 1 }, (_, i) => i + 2).filter((g) => c % g === 0 && g < c), c];
/** 1, a middle divisor and C. */
const someGroups = (c: number) => {
  const d = divisorsOf(c);
  return [...new Set([1, d[Math.floor(d.length / 2)], c])];
};

function checkGroupNorm(shape: number[], groups: number, layout: Layout, affine: 'none' | 'C' | 'N*C', x: Float32Array, seed: number) {
  const [N, C] = shape;
  const p = affine === 'none' ? null : params(affine === 'C' ? C : N * C, seed);
  const mean = new Float32Array(N * groups);
  const rstd = new Float32Array(N * groups);
  const a = toLayout(x, shape, layout);
  const y = F.groupNorm(a.x, a.shape, groups, { gamma: p?.gamma, beta: p?.beta, mean, rstd, ...lo(layout) });
  expect(y.length).toBe(x.length);
  const ref = refGroupNorm(x, shape, groups, { gamma: p?.gamma, beta: p?.beta });
  const ctx = `groupNorm ${layout} ${JSON.stringify(shape)} groups=${groups} affine=${affine}`;
  expect(fwdErr(fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, ref, ctx);
}

function checkGN(shape: number[], groups: number, layout: Layout, affine: 'none' | 'C' | 'N*C', saved: boolean, x: Float32Array, seed: number) {
  const [N, C] = shape;
  const dy = normals(x.length, seed + 1000);
  const p = affine === 'C' ? params(C, seed) : affine === 'N*C' ? params(N * C, seed) : null;
  const a = toLayout(x, shape, layout);
  const d = toLayout(dy, shape, layout).x;
  const opts: Record<string, unknown> = { gamma: p?.gamma, ...lo(layout) };
  if (saved) {
    opts.mean = new Float32Array(N * groups);
    opts.rstd = new Float32Array(N * groups);
    F.groupNorm(a.x, a.shape, groups, { gamma: p?.gamma, mean: opts.mean, rstd: opts.rstd, ...lo(layout) });
  }
  const got = F.groupNormBackward(d, a.x, a.shape, groups, opts);
  const ref = refGroupNormBackward(dy, x, shape, groups, { gamma: p?.gamma, perSample: affine === 'N*C' });
  expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `groupNormBackward ${layout} ${JSON.stringify(shape)} groups=${groups} affine=${affine} saved=${saved}`,
    ['dx'], (v) => fromLayout(v, shape, layout));
}

describe.skipIf(unavailable !== null)(`groupNorm on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [1, 3, 6].map((g) => [l, g] as const)))('layout %s, groups %i matches float64', (layout, groups) => {
      const shape = [2, 6, ...spatial];
      const x = makeData('normal', shape, 3 * m + spatial.length);
      for (const affine of ['none', 'C', 'N*C'] as const) checkGroupNorm(shape, groups, layout, affine, x, m + groups);
    });
  });

  it.each(NHWC_CHANNELS.flatMap((C) => someGroups(C).map((g) => [C, g] as const)))('NHWC with C = %i, groups %i', (C, groups) => {
    for (const spatial of [[1], [7], [3, 11], [31, 33]]) {
      const shape = [2, C, ...spatial];
      checkGroupNorm(shape, groups, 'NHWC', 'C', makeData('normal', shape, C + groups), C);
      checkGroupNorm(shape, groups, 'NHWC', 'N*C', makeData('mixed', shape, C + groups), C + 1);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [2, 8, 17, 31];
    for (const groups of [1, 4, 8]) checkGroupNorm(shape, groups, layout, 'C', makeData(kind, shape, 5), groups);
  });

  it.each(LAYOUTS)('a constant input normalizes to beta exactly (layout %s)', (layout) => {
    const shape = [2, 4, 5, 7];
    const a = toLayout(new Float32Array(numel(shape)).fill(-1234.5), shape, layout);
    const { gamma, beta } = params(4, 3);
    const want = Float32Array.from({ length: a.x.length }, (_, e) => beta[Math.floor(e / 35) % 4]);
    expect(fromLayout(F.groupNorm(a.x, a.shape, 2, { gamma, beta, ...lo(layout) }), shape, layout)).toEqual(want);
  });

  describe.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), layout %s', (layout) => {
    const x = makeData('mixed', LARGE, 99);
    const a = toLayout(x, LARGE, layout);
    const { gamma, beta } = params(64, 5);
    it.each([1, 8, 32])('groupNorm with %i groups', (groups) => {
      const y = F.groupNorm(a.x, a.shape, groups, { gamma, beta, ...lo(layout) });
      expect(fwdErr(fromLayout(y, LARGE, layout), refGroupNorm(x, LARGE, groups, { gamma, beta }).y)).toBeLessThanOrEqual(TOL);
    });
  });
});

describe.skipIf(unavailable !== null)(`groupNormBackward on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [1, 3, 6].map((g) => [l, g] as const)))('layout %s, groups %i', (layout, groups) => {
      const shape = [2, 6, ...spatial];
      if (m === 1 && groups === 6) return; // one element per group: covered by instance norm's test
      const x = makeData('normal', shape, m + groups);
      for (const affine of ['none', 'C', 'N*C'] as const) {
        checkGN(shape, groups, layout, affine, false, x, m);
        checkGN(shape, groups, layout, affine, true, x, m + 1);
      }
    });
  });

  it.each(NHWC_CHANNELS.flatMap((C) => [...new Set([1, C === 17 ? 17 : Math.max(1, C / 4 | 0), C])].map((g) => [C, g] as const)))(
    'NHWC with C = %i, groups %i',
    (C, groups) => {
      for (const spatial of [[1], [7], [3, 11], [31, 33]]) {
        if (groups === C && spatial[0] === 1) continue;
        const shape = [2, C, ...spatial];
        checkGN(shape, groups, 'NHWC', 'C', false, makeData('normal', shape, C), C);
        checkGN(shape, groups, 'NHWC', 'N*C', true, makeData('mixed', shape, C + 1), C + 1);
      }
    },
  );

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [2, 8, 17, 31];
    for (const groups of [1, 4, 8]) checkGN(shape, groups, layout, 'C', groups === 4, makeData(kind, shape, 5), groups);
  });

  describe.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), layout %s', (layout) => {
    const x = makeData('mixed', LARGE, 199);
    it.each([1, 8, 64])('groupNormBackward, %i groups', (groups) => checkGN(LARGE, groups, layout, 'C', false, x, groups));
  });
});

// ---------------------------------------------------------------------------
// Gradient checks.

function groupNormCase(shape: number[], groups: number, perSample: boolean): GradCase {
  const [N, C] = shape;
  const P = perSample ? N * C : C;
  return {
    name: `groupNorm ${JSON.stringify(shape)} groups=${groups} ${perSample ? 'per-sample' : 'per-channel'} affine`,
    inputs: () => ({ x: randn64(numel(shape), 1, 0.5, 2), gamma: randn64(P, 2, 1, 0.5), beta: randn64(P, 3) }),
    wrt: ['x', 'gamma', 'beta'],
    outputs: numel(shape),
    forward: (a) => refGroupNorm(a.x, shape, groups, { gamma: a.gamma, beta: a.beta, eps: EPS }).y,
    backward: (w, a) => rename(refGroupNormBackward(w, a.x, shape, groups, { gamma: a.gamma, eps: EPS, perSample }), { x: 'dx', gamma: 'dgamma', beta: 'dbeta' }),
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const g = F.groupNormBackward(t.to(w), t.to(a.x), t.shape, groups, { gamma: a.gamma, eps: EPS, ...t.opt });
      return { x: t.from(g.dx), gamma: g.dgamma, beta: g.dbeta };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

describe.skipIf(unavailable !== null)(`groupNorm gradients on ${label}`, () => {
  describeGradChecks('gradient checks', [
    groupNormCase([2, 4, 3, 2], 2, false),
    groupNormCase([2, 6, 5], 3, true),
    groupNormCase([1, 4, 7], 1, false),
  ]);
});

// ---------------------------------------------------------------------------
// Properties.

describe.skipIf(unavailable !== null)(`groupNorm properties on ${label}`, () => {
  it.each(LAYOUTS)('(a) group norm is scale invariant per image (layout %s)', (layout) => {
    const shape = [3, 4, 9, 13];
    const per = numel(shape) / 3;
    const x = makeData('normal', shape, 1).map((v, e) => 2 + (Math.floor(e / 117) % 5) + v * (1 + (Math.floor(e / 117) % 3)));
    const a = toLayout(x, shape, layout);
    const xs = a.x.slice();
    sample(xs, 2, per).forEach((e, i, arr) => { arr[i] = e * 7.25; });
    const g1 = F.groupNorm(a.x, a.shape, 2, { eps: 0, ...lo(layout) });
    const g2 = F.groupNorm(xs, a.shape, 2, { eps: 0, ...lo(layout) });
    expect(maxAbsDiff(g1, g2)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(g1)));
  });

  it.each(LAYOUTS)('(g) groupNorm with groups = C is instanceNorm; with groups = 1 it is layerNorm over (C, spatial) (layout %s)', (layout) => {
    const shape = [3, 6, 11, 13];
    const M = 143;
    const x = makeData('mixed', shape, 31);
    const a = toLayout(x, shape, layout);
    const gamma = normals(6, 1, 1, 0.5);
    const beta = normals(6, 2);
    const meanG = new Float32Array(18);
    const meanI = new Float32Array(18);
    const yg = F.groupNorm(a.x, a.shape, 6, { gamma, beta, mean: meanG, ...lo(layout) });
    const yi = F.instanceNorm(a.x, a.shape, { gamma, beta, mean: meanI, ...lo(layout) });
    expect(maxAbsDiff(yg, yi)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(yi)));
    expect(maxAbsDiff(meanG, meanI)).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(meanI)));
    const dy = toLayout(normals(x.length, 3), shape, layout).x;
    const gg = F.groupNormBackward(dy, a.x, a.shape, 6, { gamma, ...lo(layout) });
    const gi = F.instanceNormBackward(dy, a.x, a.shape, { gamma, ...lo(layout) });
    for (const key of ['dx', 'dgamma', 'dbeta']) expect(relErr(gg[key], gi[key]), key).toBeLessThanOrEqual(1e-5);

    // groups = 1 vs layerNorm over everything but the batch dim, with gamma/beta expanded to the layout.
    const expand = (p: Float32Array) => Float32Array.from({ length: 6 * M }, (_, e) => p[layout === 'NHWC' ? e % 6 : Math.floor(e / M)]);
    const y1 = F.groupNorm(a.x, a.shape, 1, { gamma, beta, ...lo(layout) });
    const yl = F.layerNorm(a.x, a.shape, 3, { gamma: expand(gamma), beta: expand(beta) });
    expect(maxAbsDiff(y1, yl)).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(yl)));
    const g1 = F.groupNormBackward(dy, a.x, a.shape, 1, { gamma, ...lo(layout) });
    const gl = F.layerNormBackward(dy, a.x, a.shape, 3, { gamma: expand(gamma) });
    expect(relErr(g1.dx, gl.dx)).toBeLessThanOrEqual(1e-5);
    // layerNorm's elementwise dgamma summed over each channel's positions is groupNorm's dgamma.
    const fold = (d: Float32Array) => Float64Array.from({ length: 6 }, (_, c) => {
      let s = 0;
      for (let e = 0; e < 6 * M; e++) if ((layout === 'NHWC' ? e % 6 : Math.floor(e / M)) === c) s += d[e];
      return s;
    });
    expect(relErr(g1.dgamma, fold(gl.dgamma))).toBeLessThanOrEqual(1e-5);
    expect(relErr(g1.dbeta, fold(gl.dbeta))).toBeLessThanOrEqual(1e-5);
  });
});
