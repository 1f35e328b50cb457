// conditionalInstanceNorm and its backward: parity with the float64
// reference in both layouts (Int32Array and Uint32Array conditions),
// adversarial data, the threaded path, finite-difference gradient checks,
// and its identity with instance norm plus the gathered affine.
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { fromLayout, makeData, normals, numel, randn64, toLayout } from '../helpers/data.mjs';
import { fwdErr, maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import {
  gatherRows, refConditionalInstanceNorm, refConditionalInstanceNormBackward, refInstanceNormBackward,
} from '../helpers/reference.mjs';
import { describeGradChecks, EPS, f32, type GradCase, io, rename } from '../helpers/gradcheck';
import {
  expectGrads, expectStats, GRID, KINDS, LARGE, type Layout, LAYOUTS, lo, NHWC_CHANNELS, params, TOL,
} from '../helpers/op-checks';

function checkCIN(shape: number[], layout: Layout, condition: Int32Array | Uint32Array, K: number, x: Float32Array, seed: number) {
  const [N, C] = shape;
  const gammaTable = normals(K * C, seed, 1, 0.5);
  const betaTable = normals(K * C, seed + 1);
  const mean = new Float32Array(N * C);
  const rstd = new Float32Array(N * C);
  const a = toLayout(x, shape, layout);
  const y = F.conditionalInstanceNorm(a.x, a.shape, condition, gammaTable, betaTable, { mean, rstd, ...lo(layout) });
  const ref = refConditionalInstanceNorm(x, shape, condition, gammaTable, betaTable);
  const ctx = `conditionalInstanceNorm ${layout} ${JSON.stringify(shape)} condition=${Array.from(condition)} K=${K}`;
  expect(fwdErr(fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(mean, rstd, ref, ctx);
}

function checkCINb(shape: number[], layout: Layout, condition: Int32Array | Uint32Array, K: number, saved: boolean, x: Float32Array, seed: number) {
  const [N, C] = shape;
  const dy = normals(x.length, seed + 1000);
  const gammaTable = normals(K * C, seed, 1, 0.5);
  const betaTable = normals(K * C, seed + 1);
  const a = toLayout(x, shape, layout);
  const d = toLayout(dy, shape, layout).x;
  const opts: Record<string, unknown> = { ...lo(layout) };
  if (saved) {
    opts.mean = new Float32Array(N * C);
    opts.rstd = new Float32Array(N * C);
    F.conditionalInstanceNorm(a.x, a.shape, condition, gammaTable, betaTable, { mean: opts.mean, rstd: opts.rstd, ...lo(layout) });
  }
  const got = F.conditionalInstanceNormBackward(d, a.x, a.shape, condition, gammaTable, betaTable, opts);
  const ref = refConditionalInstanceNormBackward(dy, x, shape, condition, gammaTable, betaTable);
  const ctx = `conditionalInstanceNormBackward ${layout} ${JSON.stringify(shape)} condition=${Array.from(condition)} K=${K} saved=${saved}`;
  expectGrads(got, ref, ['dx', 'dgammaTable', 'dbetaTable'], ctx, ['dx'], (v) => fromLayout(v, shape, layout));
  // Rows no sample used are exactly zero.
  for (let k = 0; k < K; k++) {
    if (Array.from(condition).includes(k)) continue;
    for (let c = 0; c < C; c++) {
      expect(got.dgammaTable[k * C + c], `${ctx}: unused row ${k}`).toBe(0);
      expect(got.dbetaTable[k * C + c], `${ctx}: unused row ${k}`).toBe(0);
    }
  }
}

describe.skipIf(unavailable !== null)(`conditionalInstanceNorm on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS)('layout %s matches float64 (Int32Array and Uint32Array conditions)', (layout) => {
      const shape = [3, 3, ...spatial];
      const x = makeData('normal', shape, m + spatial.length);
      checkCIN(shape, layout, Int32Array.of(3, 0, 3), 4, x, m);
      checkCIN(shape, layout, Uint32Array.of(1, 2, 0), 3, x, m + 1);
      checkCIN(shape, layout, Int32Array.of(0, 0, 0), 1, x, m + 2);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const spatial of [[1], [7], [33], [31, 33]]) {
      const shape = [4, C, ...spatial];
      checkCIN(shape, 'NHWC', Int32Array.of(2, 5, 2, 0), 6, makeData('normal', shape, C), C);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [3, 4, 17, 31];
    checkCIN(shape, layout, Uint32Array.of(1, 1, 0), 2, makeData(kind, shape, 12), 4);
  });

  it.each(LAYOUTS)('a constant input normalizes to the condition\'s beta exactly (layout %s)', (layout) => {
    const shape = [2, 4, 5, 7];
    const a = toLayout(new Float32Array(numel(shape)).fill(-1234.5), shape, layout);
    const { gamma, beta } = params(4, 3);
    const want = Float32Array.from({ length: a.x.length }, (_, e) => beta[Math.floor(e / 35) % 4]);
    expect(fromLayout(F.conditionalInstanceNorm(a.x, a.shape, Int32Array.of(0, 0), gamma, beta, lo(layout)), shape, layout)).toEqual(want);
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), layout %s', (layout) => {
    checkCIN(LARGE, layout, Int32Array.of(1, 0), 3, makeData('mixed', LARGE, 99), 10);
  });
});

describe.skipIf(unavailable !== null)(`conditionalInstanceNormBackward on ${label}`, () => {
  describe.each(GRID.filter(([m]) => m > 1))('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS)('layout %s, recomputed and saved stats', (layout) => {
      const shape = [3, 3, ...spatial];
      const x = makeData('normal', shape, m + spatial.length);
      checkCINb(shape, layout, Int32Array.of(3, 0, 3), 4, false, x, m);
      checkCINb(shape, layout, Uint32Array.of(1, 2, 1), 5, true, x, m + 1);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const spatial of [[7], [33], [31, 33]]) {
      const shape = [4, C, ...spatial];
      checkCINb(shape, 'NHWC', Int32Array.of(2, 5, 2, 0), 6, spatial.length === 2, makeData('normal', shape, C), C);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [3, 4, 17, 31];
    checkCINb(shape, layout, Uint32Array.of(1, 1, 0), 3, false, makeData(kind, shape, 12), 4);
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
    const ref = refConditionalInstanceNormBackward(dy, x, shape, cond, gT, bT);
    expectGrads({ dgammaTable, dbetaTable }, ref, ['dgammaTable', 'dbetaTable'], 'supplied tables');
    expect(Array.from(dgammaTable.subarray(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path), layout %s', (layout) => {
    checkCINb(LARGE, layout, Int32Array.of(2, 0), 3, false, makeData('mixed', LARGE, 199), 5);
  });
});

// ---------------------------------------------------------------------------
// Gradient checks.

function cinCase(shape: number[], condition: Int32Array, K: number): GradCase {
  const C = shape[1];
  return {
    name: `conditionalInstanceNorm ${JSON.stringify(shape)} condition=${Array.from(condition)} K=${K}`,
    inputs: () => ({ x: randn64(numel(shape), 12, 2, 0.7), gammaTable: randn64(K * C, 13, 1, 0.5), betaTable: randn64(K * C, 14) }),
    wrt: ['x', 'gammaTable', 'betaTable'],
    outputs: numel(shape),
    forward: (a) => refConditionalInstanceNorm(a.x, shape, condition, a.gammaTable, a.betaTable, { eps: EPS }).y,
    backward: (w, a) => rename(
      refConditionalInstanceNormBackward(w, a.x, shape, condition, a.gammaTable, a.betaTable, { eps: EPS }),
      { x: 'dx', gammaTable: 'dgammaTable', betaTable: 'dbetaTable' },
    ),
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const g = F.conditionalInstanceNormBackward(t.to(w), t.to(a.x), t.shape, condition, a.gammaTable, a.betaTable, { eps: EPS, ...t.opt });
      return { x: t.from(g.dx), gammaTable: g.dgammaTable, betaTable: g.dbetaTable };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

describe.skipIf(unavailable !== null)(`conditionalInstanceNorm gradients on ${label}`, () => {
  describeGradChecks('gradient checks', [cinCase([3, 2, 5], Int32Array.of(1, 3, 1), 4)]);

  it('conditional instance norm: rows accumulate over the samples that used them; unused rows are 0', () => {
    const c = cinCase([3, 2, 5], Int32Array.of(1, 3, 1), 4);
    const a = c.inputs();
    const w = randn64(c.outputs, 97);
    const g = c.backward(w, a);
    // Rows 0 and 2 unused; row 1 is the sum of samples 0 and 2's per-sample gradients.
    const per = refInstanceNormBackward(w, a.x, [3, 2, 5], { gamma: gatherRows(a.gammaTable, [1, 3, 1], 2), eps: EPS, perSample: true });
    expect(Array.from(g.gammaTable.subarray(0, 2))).toEqual([0, 0]);
    expect(Array.from(g.betaTable.subarray(4, 6))).toEqual([0, 0]);
    for (let ch = 0; ch < 2; ch++) {
      expect(g.gammaTable[2 + ch]).toBeCloseTo(per.dgamma[ch] + per.dgamma[4 + ch], 12);
      expect(g.betaTable[6 + ch]).toBeCloseTo(per.dbeta[2 + ch], 12);
    }
    const got = c.lib(f32(w), Object.fromEntries(Object.entries(a).map(([k, v]) => [k, f32(v)])), 'NCHW');
    expect(Array.from(got.gammaTable.subarray(0, 2))).toEqual([0, 0]);
    expect(Array.from(got.betaTable.subarray(4, 6))).toEqual([0, 0]);
  });
});

// ---------------------------------------------------------------------------
// Properties.

describe.skipIf(unavailable !== null)(`conditionalInstanceNorm properties on ${label}`, () => {
  it.each(LAYOUTS)('(d) conditionalInstanceNorm = instanceNorm then the per-condition affine (layout %s)', (layout) => {
    const shape = [5, 4, 13, 7];
    const K = 3;
    const x = makeData('mixed', shape, 9);
    const a = toLayout(x, shape, layout);
    const gT = normals(K * 4, 10, 1, 0.5);
    const bT = normals(K * 4, 11);
    for (const condition of [Int32Array.of(2, 0, 2, 1, 0), Uint32Array.of(1, 1, 1, 1, 1)]) {
      const y = fromLayout(F.conditionalInstanceNorm(a.x, a.shape, condition, gT, bT, lo(layout)), shape, layout);
      const z: Float32Array = fromLayout(F.instanceNorm(a.x, a.shape, lo(layout)), shape, layout);
      const M = 91;
      const expected = Float64Array.from(z, (v, e) => {
        const n = Math.floor(e / (4 * M));
        const c = Math.floor(e / M) % 4;
        return gT[condition[n] * 4 + c] * v + bT[condition[n] * 4 + c];
      });
      expect(fwdErr(y, expected)).toBeLessThanOrEqual(1e-5);
      // ... and instanceNorm with the gathered rows as per-sample gamma/beta.
      const ys = fromLayout(F.instanceNorm(a.x, a.shape, {
        gamma: Float32Array.from(gatherRows(gT, condition, 4)), beta: Float32Array.from(gatherRows(bT, condition, 4)), ...lo(layout),
      }), shape, layout);
      expect(maxAbsDiff(y, ys)).toBeLessThanOrEqual(2e-6 * (1 + maxAbs(ys)));
    }
  });
});
