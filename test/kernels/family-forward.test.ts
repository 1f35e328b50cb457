// Forward parity of the normalization family (issue 3 API: group, layer,
// batch, conditional instance norm, AdaIN, moments, and instance norm's
// channels-last layout and per-sample affine) against the float64
// references in test/helpers/family-reference.mjs, on the backend of this
// vitest project.
import { describe, expect, it } from 'vitest';
import { label, lib, unavailable } from '../helpers/backend-under-test';
import { maxAbs, maxAbsDiff, normals, numel } from '../helpers/reference.mjs';
import * as R from '../helpers/family-reference.mjs';
import { PLANE_SIZES, spatialShapes } from '../helpers/shapes';

// The family's functions are typed in dist/ only once the lead lands them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const F: any = lib;

type Layout = 'NCHW' | 'NHWC';
const LAYOUTS: Layout[] = ['NCHW', 'NHWC'];
const lo = (layout: Layout) => (layout === 'NHWC' ? { layout } : {});

// max |y - ref| / (1 + max |ref|), as for instance norm (tests/kernels/forward):
// a few ulps of |y| plus the statistics' error; 1e-4 absolute is the accuracy bar.
const TOL = 1e-5;
// Saved statistics: mean to 1e-6 of its magnitude (plus 1e-6), rstd to 1e-6 relative.
function expectStats(mean: Float32Array, rstd: Float32Array, ref: { mean: ArrayLike<number>; rstd: ArrayLike<number> }, ctx: string) {
  expect(maxAbsDiff(mean, ref.mean), `${ctx}: mean`).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(ref.mean)));
  for (let p = 0; p < rstd.length; p++) {
    expect(Math.abs(rstd[p] / ref.rstd[p] - 1), `${ctx}: rstd[${p}] = ${rstd[p]} vs ${ref.rstd[p]}`).toBeLessThanOrEqual(1e-6);
  }
}

const GRID = PLANE_SIZES.flatMap((m) => spatialShapes(m).map((sp) => [m, sp] as const));
const KINDS = ['normal', 'offset', 'tiny', 'constant planes', 'mixed'] as const;
const NHWC_CHANNELS = [1, 3, 8, 17, 64];
const LARGE = [2, 64, 48, 48]; // 294912 elements: above the 256Ki threading threshold

/** gamma/beta of length `len` (C per channel, N*C per sample). */
const params = (len: number, seed: number) => ({ gamma: normals(len, seed, 1, 0.5), beta: normals(len, seed + 1, 0, 1) });
const divisorsOf = (c: number) => [1, ...Array.from({ length: c - 1 }, (_, i) => i + 2).filter((g) => c % g === 0 && g < c), c];
/** 1, a middle divisor and C. */
const someGroups = (c: number) => {
  const d = divisorsOf(c);
  return [...new Set([1, d[Math.floor(d.length / 2)], c])];
};

// ---------------------------------------------------------------------------
// instance norm: channels-last and per-sample affine

function checkInstanceNorm(shape: number[], layout: Layout, affine: 'none' | 'C' | 'N*C', x: Float32Array, seed: number) {
  const { N, C } = R.dims(shape);
  const p = affine === 'none' ? null : params(affine === 'C' ? C : N * C, seed);
  const mean = new Float32Array(N * C);
  const rstd = new Float32Array(N * C);
  const a = R.toLayout(x, shape, layout);
  const y = F.instanceNorm(a.x, a.shape, { gamma: p?.gamma, beta: p?.beta, mean, rstd, ...lo(layout) });
  const ref = R.refInstanceNorm(x, shape, { gamma: p?.gamma, beta: p?.beta });
  const ctx = `instanceNorm ${layout} ${JSON.stringify(shape)} affine=${affine}`;
  expect(R.fwdErr(R.fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, ref, ctx);
}

describe.skipIf(unavailable !== null)(`instanceNorm (channels-last, per-sample affine) on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => (['none', 'C', 'N*C'] as const).map((a) => [l, a] as const)))(
      'layout %s, affine %s matches float64',
      (layout, affine) => {
        const shape = [2, 3, ...spatial];
        checkInstanceNorm(shape, layout, affine, R.makeData('normal', shape, m + spatial.length), 7 * m);
      },
    );
  });

  it.each(NHWC_CHANNELS.flatMap((C) => [1, 7, 33, 1023].map((m) => [C, m] as const)))('NHWC with C = %i, %i pixels', (C, m) => {
    const shape = [2, C, m];
    const x = R.makeData('normal', shape, C * 100 + m);
    checkInstanceNorm(shape, 'NHWC', 'N*C', x, C + m);
    checkInstanceNorm([2, C, m === 1023 ? 31 : 1, m === 1023 ? 33 : m], 'NHWC', 'C', x, C + m + 1);
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [3, 4, 17, 61];
    checkInstanceNorm(shape, layout, 'N*C', R.makeData(kind, shape, 5), 9);
  });

  it('per-sample gamma/beta equal to the per-channel ones repeated give the same result', () => {
    const shape = [3, 5, 7, 9];
    const x = normals(numel(shape), 4);
    const { gamma, beta } = params(5, 8);
    const rep = (a: Float32Array) => Float32Array.from({ length: 15 }, (_, i) => a[i % 5]);
    for (const layout of LAYOUTS) {
      const a = R.toLayout(x, shape, layout);
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
    const { x, shape: s } = R.toLayout(normals(numel(shape), 13), shape, 'NHWC');
    const expected = F.instanceNorm(x, s, { layout: 'NHWC' });
    const buf = x.slice();
    expect(F.instanceNorm(buf, s, { layout: 'NHWC', out: buf })).toBe(buf);
    expect(buf).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------
// group norm

function checkGroupNorm(shape: number[], groups: number, layout: Layout, affine: 'none' | 'C' | 'N*C', x: Float32Array, seed: number) {
  const { N, C } = R.dims(shape);
  const p = affine === 'none' ? null : params(affine === 'C' ? C : N * C, seed);
  const mean = new Float32Array(N * groups);
  const rstd = new Float32Array(N * groups);
  const a = R.toLayout(x, shape, layout);
  const y = F.groupNorm(a.x, a.shape, groups, { gamma: p?.gamma, beta: p?.beta, mean, rstd, ...lo(layout) });
  expect(y.length).toBe(x.length);
  const ref = R.refGroupNorm(x, shape, groups, { gamma: p?.gamma, beta: p?.beta });
  const ctx = `groupNorm ${layout} ${JSON.stringify(shape)} groups=${groups} affine=${affine}`;
  expect(R.fwdErr(R.fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, ref, ctx);
}

describe.skipIf(unavailable !== null)(`groupNorm on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [1, 3, 6].map((g) => [l, g] as const)))('layout %s, groups %i matches float64', (layout, groups) => {
      const shape = [2, 6, ...spatial];
      const x = R.makeData('normal', shape, 3 * m + spatial.length);
      for (const affine of ['none', 'C', 'N*C'] as const) checkGroupNorm(shape, groups, layout, affine, x, m + groups);
    });
  });

  it.each(NHWC_CHANNELS.flatMap((C) => someGroups(C).map((g) => [C, g] as const)))('NHWC with C = %i, groups %i', (C, groups) => {
    for (const spatial of [[1], [7], [3, 11], [31, 33]]) {
      const shape = [2, C, ...spatial];
      checkGroupNorm(shape, groups, 'NHWC', 'C', R.makeData('normal', shape, C + groups), C);
      checkGroupNorm(shape, groups, 'NHWC', 'N*C', R.makeData('mixed', shape, C + groups), C + 1);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [2, 8, 17, 31];
    for (const groups of [1, 4, 8]) checkGroupNorm(shape, groups, layout, 'C', R.makeData(kind, shape, 5), groups);
  });
});

// ---------------------------------------------------------------------------
// layer norm (no layout option)

function checkLayerNorm(shape: number[], k: number, affine: boolean, x: Float32Array, seed: number) {
  const L = numel(shape.slice(shape.length - k));
  const Rn = numel(shape) / L;
  const p = affine ? params(L, seed) : null;
  const mean = new Float32Array(Rn);
  const rstd = new Float32Array(Rn);
  const y = F.layerNorm(x, shape, k, { gamma: p?.gamma, beta: p?.beta, mean, rstd });
  const ref = R.refLayerNorm(x, shape, k, { gamma: p?.gamma, beta: p?.beta });
  const ctx = `layerNorm ${JSON.stringify(shape)} normalizedRank=${k} affine=${affine}`;
  expect(R.fwdErr(y, ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, ref, ctx);
}

describe.skipIf(unavailable !== null)(`layerNorm on ${label}`, () => {
  describe.each(GRID)('[2, 3, ...spatial] with %i elements as spatial %j', (m, spatial) => {
    const shape = [2, 3, ...spatial];
    it.each(Array.from({ length: shape.length }, (_, i) => i + 1))('normalizedRank %i matches float64', (k) => {
      const x = R.makeData('normal', shape, m + k);
      checkLayerNorm(shape, k, true, x, k);
      checkLayerNorm(shape, k, false, x, k);
    });
  });

  it.each([[[1]], [[7]], [[1023]], [[5, 17]], [[33, 1]], [[1, 33]], [[4, 1, 257]]])('low-rank shape %j, every normalizedRank', (shape) => {
    for (let k = 1; k <= shape.length; k++) checkLayerNorm(shape, k, true, R.makeData('normal', [1, 1, numel(shape)], k), k);
  });

  it.each(KINDS)('adversarial %s data', (kind) => {
    const shape = [3, 4, 17, 13];
    const x = R.makeData(kind, shape, 21);
    for (let k = 1; k <= 4; k++) checkLayerNorm(shape, k, true, x, k);
  });

  it('a transformer-like [tokens, hidden] input', () => {
    const shape = [37, 768];
    checkLayerNorm(shape, 1, true, R.makeData('normal', [1, 1, numel(shape)], 1), 2);
  });
});

// ---------------------------------------------------------------------------
// batch norm

type BnMode = 'training' | 'training+running' | 'inference';

function checkBatchNorm(shape: number[], layout: Layout, mode: BnMode, x: Float32Array, seed: number, momentum?: number) {
  const { C } = R.dims(shape);
  const { gamma, beta } = params(C, seed);
  const rm0 = normals(C, seed + 7, 0.5, 0.5);
  const rv0 = normals(C, seed + 8, 1, 0.3).map(Math.abs);
  if (mode === 'inference') {
    // Running statistics near the data's own (an offset of 1e4 makes x - rm the hard part).
    const st = R.refMoments(x, shape, { over: 'batch' });
    for (let c = 0; c < C; c++) {
      rm0[c] += st.mean[c];
      rv0[c] *= st.m2[c] / st.count[c] + 1e-3;
    }
  }
  const runningMean = mode === 'training' ? undefined : rm0.slice();
  const runningVar = mode === 'training' ? undefined : rv0.slice();
  const mean = new Float32Array(C);
  const rstd = new Float32Array(C);
  const a = R.toLayout(x, shape, layout);
  const training = mode !== 'inference';
  const y = F.batchNorm(a.x, a.shape, { gamma, beta, training, runningMean, runningVar, momentum, mean, rstd, ...lo(layout) });
  const ref = R.refBatchNorm(x, shape, { gamma, beta, training, runningMean: runningMean && rm0, runningVar: runningVar && rv0, momentum });
  const ctx = `batchNorm ${layout} ${JSON.stringify(shape)} ${mode}`;
  expect(R.fwdErr(R.fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, ref, ctx);
  if (runningMean && runningVar) {
    expect(maxAbsDiff(runningMean, ref.runningMean!), `${ctx}: runningMean`).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(ref.runningMean!)));
    expect(R.relErr(runningVar, ref.runningVar!), `${ctx}: runningVar`).toBeLessThanOrEqual(2e-6);
  }
}

describe.skipIf(unavailable !== null)(`batchNorm on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => (['training', 'training+running', 'inference'] as const).map((md) => [l, md] as const)))(
      'layout %s, %s matches float64',
      (layout, mode) => {
        const shape = [2, 3, ...spatial];
        checkBatchNorm(shape, layout, mode, R.makeData('normal', shape, m * 3 + spatial.length), m);
      },
    );
  });

  it.each(NHWC_CHANNELS.flatMap((C) => [1, 7, 33, 1023].map((m) => [C, m] as const)))('NHWC with C = %i, %i pixels', (C, m) => {
    const shape = [3, C, m];
    const x = R.makeData('mixed', shape, C * 7 + m);
    checkBatchNorm(shape, 'NHWC', 'training+running', x, C);
    checkBatchNorm(shape, 'NHWC', 'inference', x, C);
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.flatMap((l) => (['training+running', 'inference'] as const).map((md) => [k, l, md] as const))))(
    'adversarial %s data, layout %s, %s',
    (kind, layout, mode) => {
      const shape = [4, 3, 17, 31];
      checkBatchNorm(shape, layout, mode, R.makeData(kind, shape, 77), 3);
    },
  );

  it.each([0, 0.01, 0.5, 1])('momentum %d', (momentum) => {
    const shape = [3, 4, 33];
    for (const layout of LAYOUTS) checkBatchNorm(shape, layout, 'training+running', R.makeData('normal', shape, 5), 2, momentum);
  });

  it.each([
    ['Float32Array', Float32Array, undefined],
    ['Float64Array', Float64Array, undefined],
    ['Float64Array with count', Float64Array, 12345],
  ] as const)('precomputed stats (%s) are used instead of the batch statistics', (_n, Ctor, count) => {
    const shape = [2, 5, 7, 3];
    const x = R.makeData('normal', shape, 31);
    const { gamma, beta } = params(5, 2);
    const stats = { mean: Ctor.from(normals(5, 3, 0.3, 0.2)), var: Ctor.from(normals(5, 4, 2, 0.5).map(Math.abs)), count };
    for (const layout of LAYOUTS) {
      const runningMean = normals(5, 5);
      const runningVar = normals(5, 6, 1, 0.1);
      const ref = R.refBatchNorm(x, shape, { gamma, beta, training: true, stats, runningMean, runningVar });
      const mean = new Float32Array(5);
      const rstd = new Float32Array(5);
      const a = R.toLayout(x, shape, layout);
      const y = F.batchNorm(a.x, a.shape, { gamma, beta, training: true, stats, runningMean, runningVar, mean, rstd, ...lo(layout) });
      expect(R.fwdErr(R.fromLayout(y, shape, layout), ref.y)).toBeLessThanOrEqual(TOL);
      expectStats(mean, rstd, ref, `stats ${layout}`);
      expect(R.relErr(runningMean, ref.runningMean!)).toBeLessThanOrEqual(2e-6);
      expect(R.relErr(runningVar, ref.runningVar!)).toBeLessThanOrEqual(2e-6);
    }
  });
});

// ---------------------------------------------------------------------------
// conditional instance norm

function checkCIN(shape: number[], layout: Layout, condition: Int32Array | Uint32Array, K: number, x: Float32Array, seed: number) {
  const { N, C } = R.dims(shape);
  const gammaTable = normals(K * C, seed, 1, 0.5);
  const betaTable = normals(K * C, seed + 1);
  const mean = new Float32Array(N * C);
  const rstd = new Float32Array(N * C);
  const a = R.toLayout(x, shape, layout);
  const y = F.conditionalInstanceNorm(a.x, a.shape, condition, gammaTable, betaTable, { mean, rstd, ...lo(layout) });
  const ref = R.refConditionalInstanceNorm(x, shape, condition, gammaTable, betaTable);
  const ctx = `conditionalInstanceNorm ${layout} ${JSON.stringify(shape)} condition=${Array.from(condition)} K=${K}`;
  expect(R.fwdErr(R.fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, ref, ctx);
}

describe.skipIf(unavailable !== null)(`conditionalInstanceNorm on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS)('layout %s matches float64 (Int32Array and Uint32Array conditions)', (layout) => {
      const shape = [3, 3, ...spatial];
      const x = R.makeData('normal', shape, m + spatial.length);
      checkCIN(shape, layout, Int32Array.of(3, 0, 3), 4, x, m);
      checkCIN(shape, layout, Uint32Array.of(1, 2, 0), 3, x, m + 1);
      checkCIN(shape, layout, Int32Array.of(0, 0, 0), 1, x, m + 2);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const spatial of [[1], [7], [33], [31, 33]]) {
      const shape = [4, C, ...spatial];
      checkCIN(shape, 'NHWC', Int32Array.of(2, 5, 2, 0), 6, R.makeData('normal', shape, C), C);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [3, 4, 17, 31];
    checkCIN(shape, layout, Uint32Array.of(1, 1, 0), 2, R.makeData(kind, shape, 12), 4);
  });
});

// ---------------------------------------------------------------------------
// AdaIN

function checkAdaIN(
  shape: number[], styleShape: number[], layout: Layout, o: { alpha?: number; unbiased?: boolean; eps?: number },
  content: Float32Array, style: Float32Array,
) {
  const a = R.toLayout(content, shape, layout);
  const s = R.toLayout(style, styleShape, layout);
  const y = F.adaIN(a.x, a.shape, s.x, s.shape, { ...o, ...lo(layout) });
  const ref = R.refAdaIN(content, shape, style, styleShape, o);
  const ctx = `adaIN ${layout} content ${JSON.stringify(shape)} style ${JSON.stringify(styleShape)} ${JSON.stringify(o)}`;
  expect(R.fwdErr(R.fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
}

const ADAIN_OPTS = [{}, { alpha: 0.5 }, { alpha: 0 }, { unbiased: true }, { alpha: 0.25, unbiased: true, eps: 1e-3 }];

describe.skipIf(unavailable !== null)(`adaIN on ${label}`, () => {
  describe.each(GRID)('content plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [1, 2].map((ns) => [l, ns] as const)))('layout %s, style batch %i matches float64', (layout, Ns) => {
      const shape = [2, 3, ...spatial];
      const ms = m === 17 ? 33 : 17; // the style's planes differ in size
      const styleSpatial = spatialShapes(ms)[spatial.length - 1];
      const styleShape = [Ns, 3, ...styleSpatial];
      const content = R.makeData('normal', shape, m + spatial.length);
      const style = R.makeData('mixed', styleShape, m + 50);
      // unbiased needs 2+ elements in every content and style plane.
      for (const o of ADAIN_OPTS) if (m > 1 || !('unbiased' in o)) checkAdaIN(shape, styleShape, layout, o, content, style);
      // The same spatial size as the content.
      const same = R.makeData('mixed', [Ns, 3, ...spatial], m + 51);
      if (m > 1) checkAdaIN(shape, [Ns, 3, ...spatial], layout, { unbiased: true }, content, same);
      checkAdaIN(shape, [Ns, 3, ...spatial], layout, {}, content, same);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const [spatial, styleSpatial] of [[[7], [9]], [[33], [1]], [[31, 33], [5, 7]]]) {
      const shape = [3, C, ...spatial];
      const content = R.makeData('normal', shape, C);
      for (const Ns of [1, 3]) {
        const styleShape = [Ns, C, ...styleSpatial];
        const style = R.makeData('mixed', styleShape, C + Ns);
        checkAdaIN(shape, styleShape, 'NHWC', { alpha: 0.75 }, content, style);
      }
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s content and style, layout %s', (kind, layout) => {
    const shape = [2, 4, 17, 31];
    const styleShape = [2, 4, 9, 11];
    const content = R.makeData(kind, shape, 40);
    const style = R.makeData(kind, styleShape, 41);
    checkAdaIN(shape, styleShape, layout, {}, content, style);
    checkAdaIN(shape, styleShape, layout, { alpha: 0.5, unbiased: true }, content, style);
  });
});

// ---------------------------------------------------------------------------
// moments

function checkMoments(shape: number[], layout: Layout, over: 'instance' | 'batch' | 'layer' | 'group', groups: number | undefined, x: Float32Array) {
  const a = R.toLayout(x, shape, layout);
  const got = F.moments(a.x, a.shape, { over, groups, ...lo(layout) });
  const ref = R.refMoments(x, shape, { over, groups });
  const ctx = `moments ${layout} ${JSON.stringify(shape)} over=${over} groups=${groups}`;
  expect(got.count, ctx).toBeInstanceOf(Float64Array);
  expect(got.mean, ctx).toBeInstanceOf(Float64Array);
  expect(got.m2, ctx).toBeInstanceOf(Float64Array);
  expect(Array.from(got.count), `${ctx}: count`).toEqual(Array.from(ref.count));
  for (let i = 0; i < ref.mean.length; i++) {
    const sd = Math.sqrt(ref.m2[i] / ref.count[i]);
    expect(Math.abs(got.mean[i] - ref.mean[i]), `${ctx}: mean[${i}] = ${got.mean[i]} vs ${ref.mean[i]}`)
      .toBeLessThanOrEqual(1e-6 * sd + 1e-9 * Math.abs(ref.mean[i]) + 1e-30);
    expect(Math.abs(got.m2[i] - ref.m2[i]), `${ctx}: m2[${i}] = ${got.m2[i]} vs ${ref.m2[i]}`)
      .toBeLessThanOrEqual(1e-5 * ref.m2[i] + 1e-14 * ref.count[i] * (1 + ref.mean[i] ** 2));
  }
}

describe.skipIf(unavailable !== null)(`moments on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS)('layout %s, over instance/batch/layer/group', (layout) => {
      const shape = [2, 6, ...spatial];
      const x = R.makeData('mixed', shape, m + spatial.length);
      checkMoments(shape, layout, 'instance', undefined, x);
      checkMoments(shape, layout, 'batch', undefined, x);
      checkMoments(shape, layout, 'layer', undefined, x);
      for (const g of [1, 3, 6]) checkMoments(shape, layout, 'group', g, x);
    });
  });

  it('over defaults to instance', () => {
    const shape = [2, 3, 17];
    const x = normals(numel(shape), 2);
    const got = F.moments(x, shape);
    expect(got.mean.length).toBe(6);
    expect(Array.from(got.mean)).toEqual(Array.from(F.moments(x, shape, { over: 'instance' }).mean));
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    const shape = [2, C, 7, 9];
    const x = R.makeData('mixed', shape, C);
    for (const over of ['instance', 'batch', 'layer'] as const) checkMoments(shape, 'NHWC', over, undefined, x);
  });

  it.each(KINDS)('adversarial %s data', (kind) => {
    const shape = [2, 4, 4099];
    const x = R.makeData(kind, shape, 3);
    for (const layout of LAYOUTS) for (const over of ['instance', 'batch', 'layer'] as const) checkMoments(shape, layout, over, undefined, x);
  });
});

// ---------------------------------------------------------------------------
// exact constant input, and the threaded path

describe.skipIf(unavailable !== null)(`constant input and large tensors on ${label}`, () => {
  it.each(LAYOUTS)('a constant input normalizes to beta exactly in every op (layout %s)', (layout) => {
    const shape = [2, 4, 5, 7];
    const x = new Float32Array(numel(shape)).fill(-1234.5);
    const a = R.toLayout(x, shape, layout);
    const { gamma, beta } = params(4, 3);
    const want = Float32Array.from({ length: x.length }, (_, e) => beta[Math.floor(e / 35) % 4]);
    const y = (v: Float32Array) => R.fromLayout(v, shape, layout);
    expect(y(F.instanceNorm(a.x, a.shape, { gamma, beta, ...lo(layout) }))).toEqual(want);
    expect(y(F.groupNorm(a.x, a.shape, 2, { gamma, beta, ...lo(layout) }))).toEqual(want);
    expect(y(F.batchNorm(a.x, a.shape, { gamma, beta, training: true, ...lo(layout) }))).toEqual(want);
    expect(y(F.conditionalInstanceNorm(a.x, a.shape, Int32Array.of(0, 0), gamma, beta, lo(layout)))).toEqual(want);
    // AdaIN of a constant content plane is the style plane's mean (q * 0.5 for plane q).
    const style = R.toLayout(Float32Array.from({ length: 2 * 4 * 3 }, (_, i) => (i % 3) - 1 + Math.floor(i / 3) * 0.5), [2, 4, 3], layout);
    const ya = y(F.adaIN(a.x, a.shape, style.x, style.shape, lo(layout)));
    expect(maxAbsDiff(ya, Float32Array.from({ length: x.length }, (_, e) => Math.floor(e / 35) * 0.5))).toBeLessThanOrEqual(1e-6);
    if (layout === 'NCHW') {
      const lb = normals(140, 1);
      expect(F.layerNorm(x, shape, 3, { gamma: normals(140, 2), beta: lb })).toEqual(Float32Array.from({ length: 280 }, (_, e) => lb[e % 140]));
    }
  });

  describe.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), layout %s', (layout) => {
    const shape = LARGE;
    const x = R.makeData('mixed', shape, 99);
    const a = R.toLayout(x, shape, layout);
    const { gamma, beta } = params(64, 5);

    it('instanceNorm (per-sample affine)', () => {
      const p = params(128, 6);
      const y = F.instanceNorm(a.x, a.shape, { gamma: p.gamma, beta: p.beta, ...lo(layout) });
      expect(R.fwdErr(R.fromLayout(y, shape, layout), R.refInstanceNorm(x, shape, p).y)).toBeLessThanOrEqual(TOL);
    });
    it.each([1, 8, 32])('groupNorm with %i groups', (groups) => {
      const y = F.groupNorm(a.x, a.shape, groups, { gamma, beta, ...lo(layout) });
      expect(R.fwdErr(R.fromLayout(y, shape, layout), R.refGroupNorm(x, shape, groups, { gamma, beta }).y)).toBeLessThanOrEqual(TOL);
    });
    it('batchNorm training and inference', () => {
      checkBatchNorm(shape, layout, 'training+running', x, 8);
      checkBatchNorm(shape, layout, 'inference', x, 9);
    });
    it('conditionalInstanceNorm', () => checkCIN(shape, layout, Int32Array.of(1, 0), 3, x, 10));
    it('adaIN', () => {
      checkAdaIN(shape, [1, 64, 40, 40], layout, { alpha: 0.8 }, x, R.makeData('mixed', [1, 64, 40, 40], 4));
    });
    it('moments', () => {
      for (const over of ['instance', 'batch', 'layer'] as const) checkMoments(shape, layout, over, undefined, x);
      checkMoments(shape, layout, 'group', 16, x);
    });
    it.skipIf(layout === 'NHWC')('layerNorm over the last 1, 2 and 3 dims', () => {
      for (const k of [1, 2, 3]) checkLayerNorm(shape, k, true, x, k);
    });
  });
});
