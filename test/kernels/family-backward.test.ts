// Backward parity of the normalization family (issue 3 API) against the
// float64 references in test/helpers/family-reference.mjs (themselves
// checked by finite differences in family-gradcheck.test.ts), on the backend
// of this vitest project. Errors are relative to max |reference|.
import { describe, expect, it } from 'vitest';
import { label, lib, unavailable } from '../helpers/backend-under-test';
import { maxAbs, normals, numel } from '../helpers/reference.mjs';
import * as R from '../helpers/family-reference.mjs';
import { PLANE_SIZES, spatialShapes } from '../helpers/shapes';

// The family's functions are typed in dist/ only once the lead lands them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const F: any = lib;

type Layout = 'NCHW' | 'NHWC';
const LAYOUTS: Layout[] = ['NCHW', 'NHWC'];
const lo = (layout: Layout) => (layout === 'NHWC' ? { layout } : {});

// As instanceNormBackward (test/kernels/backward.test.ts).
const TOL = 1e-5;

const GRID = PLANE_SIZES.flatMap((m) => spatialShapes(m).map((sp) => [m, sp] as const));
const KINDS = ['normal', 'offset', 'tiny', 'constant planes', 'mixed'] as const;
const NHWC_CHANNELS = [1, 3, 8, 17, 64];
const LARGE = [2, 64, 48, 48];

const params = (len: number, seed: number) => ({ gamma: normals(len, seed, 1, 0.5), beta: normals(len, seed + 1, 0, 1) });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RefGrads = Record<string, any> & { scales?: Record<string, number> };

/**
 * Each gradient within TOL of max |reference|, or of the size of the terms
 * summed into it when that is larger (see relErrScaled: a sum that cancels
 * to ~0 cannot be matched relatively in float32).
 */
function expectGrads(got: Record<string, Float32Array>, ref: RefGrads, keys: string[], ctx: string, layoutOf: string[] = [], undo?: (a: Float32Array) => Float32Array) {
  for (const k of keys) {
    expect(got[k], `${ctx}: ${k} missing`).toBeInstanceOf(Float32Array);
    expect(got[k].length, `${ctx}: ${k} length`).toBe(ref[k].length);
    const g = layoutOf.includes(k) && undo ? undo(got[k]) : got[k];
    const scale = ref.scales?.[k] ?? 0;
    if (maxAbs(ref[k]) === 0 && scale === 0) expect(maxAbs(g), `${ctx}: ${k} should be 0`).toBeLessThanOrEqual(1e-6);
    else expect(R.relErrScaled(g, ref[k], scale), `${ctx}: ${k} (max |ref| ${maxAbs(ref[k])}, term scale ${scale})`).toBeLessThanOrEqual(TOL);
  }
}

// ---------------------------------------------------------------------------
// instance norm: channels-last, per-sample affine

function checkIN(shape: number[], layout: Layout, affine: 'none' | 'C' | 'N*C' | 'N*C outputs', saved: boolean, x: Float32Array, seed: number) {
  const { N, C } = R.dims(shape);
  const dy = normals(x.length, seed + 1000);
  const p = affine === 'C' ? params(C, seed) : affine === 'N*C' ? params(N * C, seed) : null;
  const a = R.toLayout(x, shape, layout);
  const d = R.toLayout(dy, shape, layout).x;
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
  const ref = R.refInstanceNormBackward(dy, x, shape, { gamma: p?.gamma, perSample });
  expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `instanceNormBackward ${layout} ${JSON.stringify(shape)} affine=${affine} saved=${saved}`,
    ['dx'], (v) => R.fromLayout(v, shape, layout));
  if (affine === 'N*C outputs') expect(got.dgamma).toBe(opts.dgamma);
}

describe.skipIf(unavailable !== null)(`instanceNormBackward (channels-last, per-sample) on ${label}`, () => {
  describe.each(GRID.filter(([m]) => m > 1))('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => (['none', 'C', 'N*C', 'N*C outputs'] as const).map((a) => [l, a] as const)))(
      'layout %s, affine %s, recomputed and saved stats',
      (layout, affine) => {
        const shape = [3, 2, ...spatial];
        const x = R.makeData('normal', shape, m + spatial.length);
        checkIN(shape, layout, affine, false, x, m);
        checkIN(shape, layout, affine, true, x, m);
      },
    );
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const spatial of [[1], [7], [33], [31, 33]]) {
      const shape = [2, C, ...spatial];
      const x = R.makeData('normal', shape, C);
      checkIN(shape, 'NHWC', 'N*C', false, x, C);
      checkIN(shape, 'NHWC', 'C', true, x, C + 1);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [2, 3, 4099];
    const x = R.makeData(kind, shape, 8);
    checkIN(shape, layout, 'N*C', false, x, 1);
    checkIN(shape, layout, 'C', true, x, 2);
  });
});

// ---------------------------------------------------------------------------
// group norm

function checkGN(shape: number[], groups: number, layout: Layout, affine: 'none' | 'C' | 'N*C', saved: boolean, x: Float32Array, seed: number) {
  const { N, C } = R.dims(shape);
  const dy = normals(x.length, seed + 1000);
  const p = affine === 'C' ? params(C, seed) : affine === 'N*C' ? params(N * C, seed) : null;
  const a = R.toLayout(x, shape, layout);
  const d = R.toLayout(dy, shape, layout).x;
  const opts: Record<string, unknown> = { gamma: p?.gamma, ...lo(layout) };
  if (saved) {
    opts.mean = new Float32Array(N * groups);
    opts.rstd = new Float32Array(N * groups);
    F.groupNorm(a.x, a.shape, groups, { gamma: p?.gamma, mean: opts.mean, rstd: opts.rstd, ...lo(layout) });
  }
  const got = F.groupNormBackward(d, a.x, a.shape, groups, opts);
  const ref = R.refGroupNormBackward(dy, x, shape, groups, { gamma: p?.gamma, perSample: affine === 'N*C' });
  expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `groupNormBackward ${layout} ${JSON.stringify(shape)} groups=${groups} affine=${affine} saved=${saved}`,
    ['dx'], (v) => R.fromLayout(v, shape, layout));
}

describe.skipIf(unavailable !== null)(`groupNormBackward on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [1, 3, 6].map((g) => [l, g] as const)))('layout %s, groups %i', (layout, groups) => {
      const shape = [2, 6, ...spatial];
      if (m === 1 && groups === 6) return; // one element per group: covered by instance norm's test
      const x = R.makeData('normal', shape, m + groups);
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
        checkGN(shape, groups, 'NHWC', 'C', false, R.makeData('normal', shape, C), C);
        checkGN(shape, groups, 'NHWC', 'N*C', true, R.makeData('mixed', shape, C + 1), C + 1);
      }
    },
  );

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [2, 8, 17, 31];
    for (const groups of [1, 4, 8]) checkGN(shape, groups, layout, 'C', groups === 4, R.makeData(kind, shape, 5), groups);
  });
});

// ---------------------------------------------------------------------------
// layer norm

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
  const ref = R.refLayerNormBackward(dy, x, shape, k, { gamma: p?.gamma });
  expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `layerNormBackward ${JSON.stringify(shape)} normalizedRank=${k} affine=${affine} saved=${saved}`);
}

describe.skipIf(unavailable !== null)(`layerNormBackward on ${label}`, () => {
  describe.each(GRID)('[2, 3, ...spatial] with %i elements as spatial %j', (m, spatial) => {
    const shape = [2, 3, ...spatial];
    it.each(Array.from({ length: shape.length }, (_, i) => i + 1))('normalizedRank %i', (k) => {
      const x = R.makeData('normal', shape, m + k);
      for (const affine of [true, false]) for (const saved of [true, false]) checkLN(shape, k, affine, saved, x, k);
    });
  });

  it.each([[[7]], [[1023]], [[5, 17]], [[33, 1]], [[4, 1, 257]], [[37, 768]]])('low-rank shape %j, every normalizedRank', (shape) => {
    for (let k = 1; k <= shape.length; k++) checkLN(shape, k, true, k % 2 === 0, R.makeData('normal', [1, 1, numel(shape)], k), k);
  });

  it.each(KINDS)('adversarial %s data', (kind) => {
    const shape = [3, 4, 17, 13];
    const x = R.makeData(kind, shape, 21);
    for (let k = 1; k <= 4; k++) checkLN(shape, k, true, k === 2, x, k);
  });
});

// ---------------------------------------------------------------------------
// batch norm

function checkBN(shape: number[], layout: Layout, training: boolean, saved: boolean, x: Float32Array, seed: number) {
  const { C } = R.dims(shape);
  const dy = normals(x.length, seed + 1000);
  const { gamma } = params(C, seed);
  const st = R.refMoments(x, shape, { over: 'batch' });
  const runningMean = Float32Array.from(st.mean, (v, c) => v + 0.1 * c - 0.2);
  const runningVar = Float32Array.from(st.m2, (v, c) => (v / st.count[c]) * (0.5 + 0.2 * c) + 1e-2);
  const a = R.toLayout(x, shape, layout);
  const d = R.toLayout(dy, shape, layout).x;
  const opts: Record<string, unknown> = { gamma, training, runningMean, runningVar, ...lo(layout) };
  if (saved) {
    opts.mean = new Float32Array(C);
    opts.rstd = new Float32Array(C);
    F.batchNorm(a.x, a.shape, { gamma, training, runningMean: runningMean.slice(), runningVar: runningVar.slice(), mean: opts.mean, rstd: opts.rstd, ...lo(layout) });
  }
  const rm = runningMean.slice();
  const rv = runningVar.slice();
  const got = F.batchNormBackward(d, a.x, a.shape, opts);
  const ref = R.refBatchNormBackward(dy, x, shape, { gamma, training, runningMean, runningVar });
  expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `batchNormBackward ${layout} ${JSON.stringify(shape)} training=${training} saved=${saved}`,
    ['dx'], (v) => R.fromLayout(v, shape, layout));
  // The backward pass never updates the running statistics.
  expect(runningMean).toEqual(rm);
  expect(runningVar).toEqual(rv);
}

describe.skipIf(unavailable !== null)(`batchNormBackward on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [true, false].map((t) => [l, t] as const)))('layout %s, training %s, recomputed and saved stats', (layout, training) => {
      const shape = [2, 3, ...spatial];
      const x = R.makeData('normal', shape, m + spatial.length);
      checkBN(shape, layout, training, false, x, m);
      checkBN(shape, layout, training, true, x, m + 1);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const spatial of [[1], [7], [33], [31, 33]]) {
      const shape = [3, C, ...spatial];
      const x = R.makeData('mixed', shape, C);
      checkBN(shape, 'NHWC', true, false, x, C);
      checkBN(shape, 'NHWC', true, true, x, C + 1);
      checkBN(shape, 'NHWC', false, false, x, C + 2);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [4, 3, 17, 31];
    const x = R.makeData(kind, shape, 7);
    checkBN(shape, layout, true, false, x, 1);
    checkBN(shape, layout, true, true, x, 2);
    checkBN(shape, layout, false, false, x, 3);
  });
});

// ---------------------------------------------------------------------------
// conditional instance norm

function checkCINb(shape: number[], layout: Layout, condition: Int32Array | Uint32Array, K: number, saved: boolean, x: Float32Array, seed: number) {
  const { N, C } = R.dims(shape);
  const dy = normals(x.length, seed + 1000);
  const gammaTable = normals(K * C, seed, 1, 0.5);
  const betaTable = normals(K * C, seed + 1);
  const a = R.toLayout(x, shape, layout);
  const d = R.toLayout(dy, shape, layout).x;
  const opts: Record<string, unknown> = { ...lo(layout) };
  if (saved) {
    opts.mean = new Float32Array(N * C);
    opts.rstd = new Float32Array(N * C);
    F.conditionalInstanceNorm(a.x, a.shape, condition, gammaTable, betaTable, { mean: opts.mean, rstd: opts.rstd, ...lo(layout) });
  }
  const got = F.conditionalInstanceNormBackward(d, a.x, a.shape, condition, gammaTable, betaTable, opts);
  const ref = R.refConditionalInstanceNormBackward(dy, x, shape, condition, gammaTable, betaTable);
  const ctx = `conditionalInstanceNormBackward ${layout} ${JSON.stringify(shape)} condition=${Array.from(condition)} K=${K} saved=${saved}`;
  expectGrads(got, ref, ['dx', 'dgammaTable', 'dbetaTable'], ctx, ['dx'], (v) => R.fromLayout(v, shape, layout));
  // Rows no sample used are exactly zero.
  for (let k = 0; k < K; k++) {
    if (Array.from(condition).includes(k)) continue;
    for (let c = 0; c < C; c++) {
      expect(got.dgammaTable[k * C + c], `${ctx}: unused row ${k}`).toBe(0);
      expect(got.dbetaTable[k * C + c], `${ctx}: unused row ${k}`).toBe(0);
    }
  }
}

describe.skipIf(unavailable !== null)(`conditionalInstanceNormBackward on ${label}`, () => {
  describe.each(GRID.filter(([m]) => m > 1))('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS)('layout %s, recomputed and saved stats', (layout) => {
      const shape = [3, 3, ...spatial];
      const x = R.makeData('normal', shape, m + spatial.length);
      checkCINb(shape, layout, Int32Array.of(3, 0, 3), 4, false, x, m);
      checkCINb(shape, layout, Uint32Array.of(1, 2, 1), 5, true, x, m + 1);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const spatial of [[7], [33], [31, 33]]) {
      const shape = [4, C, ...spatial];
      checkCINb(shape, 'NHWC', Int32Array.of(2, 5, 2, 0), 6, spatial.length === 2, R.makeData('normal', shape, C), C);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [3, 4, 17, 31];
    checkCINb(shape, layout, Uint32Array.of(1, 1, 0), 3, false, R.makeData(kind, shape, 12), 4);
  });

  it('the output tables may be supplied and are overwritten (not accumulated into)', () => {
    const shape = [2, 3, 17];
    const x = normals(numel(shape), 1);
    const dy = normals(numel(shape), 2);
    const gT = normals(9, 3);
    const bT = normals(9, 4);
    const cond = Int32Array.of(2, 2);
    const dgammaTable = new Float32Array(9).fill(123);
    const dbetaTable = new Float32Array(9).fill(-5);
    const got = F.conditionalInstanceNormBackward(dy, x, shape, cond, gT, bT, { dgammaTable, dbetaTable });
    expect(got.dgammaTable).toBe(dgammaTable);
    expect(got.dbetaTable).toBe(dbetaTable);
    const ref = R.refConditionalInstanceNormBackward(dy, x, shape, cond, gT, bT);
    expectGrads({ dgammaTable, dbetaTable }, ref, ['dgammaTable', 'dbetaTable'], 'supplied tables');
    expect(Array.from(dgammaTable.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

// ---------------------------------------------------------------------------
// AdaIN

function checkAdaINb(shape: number[], styleShape: number[], layout: Layout, o: { alpha?: number; unbiased?: boolean; eps?: number }, content: Float32Array, style: Float32Array, seed: number) {
  const dy = normals(content.length, seed + 1000);
  const a = R.toLayout(content, shape, layout);
  const s = R.toLayout(style, styleShape, layout);
  const d = R.toLayout(dy, shape, layout).x;
  const got = F.adaINBackward(d, a.x, a.shape, s.x, s.shape, { ...o, ...lo(layout) });
  const ref = R.refAdaINBackward(dy, content, shape, style, styleShape, o);
  const ctx = `adaINBackward ${layout} content ${JSON.stringify(shape)} style ${JSON.stringify(styleShape)} ${JSON.stringify(o)}`;
  expect(got.dcontent.length, ctx).toBe(content.length);
  expect(got.dstyle.length, ctx).toBe(style.length);
  expectGrads({ dcontent: R.fromLayout(got.dcontent, shape, layout), dstyle: R.fromLayout(got.dstyle, styleShape, layout) }, ref, ['dcontent', 'dstyle'], ctx);
}

const ADAIN_OPTS = [{}, { alpha: 0.5 }, { alpha: 0 }, { unbiased: true }, { alpha: 0.25, unbiased: true, eps: 1e-3 }];

describe.skipIf(unavailable !== null)(`adaINBackward on ${label}`, () => {
  describe.each(GRID.filter(([m]) => m > 1))('content plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [1, 2].map((ns) => [l, ns] as const)))('layout %s, style batch %i', (layout, Ns) => {
      const shape = [2, 3, ...spatial];
      const ms = m === 17 ? 33 : 17;
      const styleShape = [Ns, 3, ...spatialShapes(ms)[spatial.length - 1]];
      const content = R.makeData('normal', shape, m + spatial.length);
      const style = R.makeData('mixed', styleShape, m + 50);
      for (const o of ADAIN_OPTS) checkAdaINb(shape, styleShape, layout, o, content, style, m);
      checkAdaINb(shape, [Ns, 3, ...spatial], layout, { unbiased: true }, content, R.makeData('normal', [Ns, 3, ...spatial], m + 300), m + 1);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const [spatial, styleSpatial] of [[[7], [9]], [[33], [2]], [[31, 33], [5, 7]]]) {
      const shape = [3, C, ...spatial];
      const content = R.makeData('normal', shape, C);
      for (const Ns of [1, 3]) {
        const styleShape = [Ns, C, ...styleSpatial];
        checkAdaINb(shape, styleShape, 'NHWC', { alpha: 0.75, unbiased: Ns === 1 }, content, R.makeData('mixed', styleShape, C + Ns), C);
      }
    }
  });

  it.each(KINDS.filter((k) => k !== 'constant planes').flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))(
    'adversarial %s content and style, layout %s',
    (kind, layout) => {
      const shape = [2, 4, 17, 31];
      const styleShape = [2, 4, 9, 11];
      const content = R.makeData(kind, shape, 40);
      const style = R.makeData(kind, styleShape, 41);
      checkAdaINb(shape, styleShape, layout, {}, content, style, 1);
      checkAdaINb(shape, [1, 4, 9, 11], layout, { alpha: 0.5, unbiased: true }, content, style.subarray(0, 4 * 99), 2);
    },
  );

  it('constant content planes and constant style planes', () => {
    const shape = [2, 4, 17, 31];
    const styleShape = [2, 4, 9, 11];
    for (const layout of LAYOUTS) {
      checkAdaINb(shape, styleShape, layout, { alpha: 0.5 }, R.makeData('constant planes', shape, 40), R.makeData('normal', styleShape, 41), 1);
      checkAdaINb(shape, styleShape, layout, { alpha: 0.5 }, R.makeData('normal', shape, 40), R.makeData('constant planes', styleShape, 41), 1);
    }
  });
});

// ---------------------------------------------------------------------------
// the threaded path

describe.skipIf(unavailable !== null)(`backward of a [2, 64, 48, 48] tensor (threaded path) on ${label}`, () => {
  const shape = LARGE;
  const x = R.makeData('mixed', shape, 199);
  describe.each(LAYOUTS)('layout %s', (layout) => {
    it('instanceNormBackward (per-sample)', () => checkIN(shape, layout, 'N*C', true, x, 1));
    it.each([1, 8, 64])('groupNormBackward, %i groups', (groups) => checkGN(shape, groups, layout, 'C', false, x, groups));
    it('batchNormBackward training and inference', () => {
      checkBN(shape, layout, true, false, x, 3);
      checkBN(shape, layout, false, false, x, 4);
    });
    it('conditionalInstanceNormBackward', () => checkCINb(shape, layout, Int32Array.of(2, 0), 3, false, x, 5));
    it('adaINBackward with a broadcast style', () => {
      checkAdaINb(shape, [1, 64, 40, 40], layout, { alpha: 0.8 }, x, R.makeData('mixed', [1, 64, 40, 40], 6), 6);
    });
    it.skipIf(layout === 'NHWC')('layerNormBackward over the last 1, 2 and 3 dims', () => {
      for (const k of [1, 2, 3]) checkLN(shape, k, true, k === 2, x, k);
    });
  });
});
