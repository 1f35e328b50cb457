// batchNorm and batchNormBackward: training (batch statistics, running
// statistics updates, precomputed statistics) and inference, both layouts,
// adversarial data, the threaded path, finite-difference gradient checks,
// and properties (sample coupling, merged statistics, PyTorch's running
// statistics rule).
import { describe, expect, it } from 'vitest';
import { F, label, unavailable } from '../helpers/backend-under-test';
import { fromLayout, makeData, normals, numel, randn64, toLayout } from '../helpers/data.mjs';
import { fwdErr, maxAbs, maxAbsDiff, relErr } from '../helpers/metrics.mjs';
import { refBatchNorm, refBatchNormBackward, refMoments } from '../helpers/reference.mjs';
import { describeGradChecks, EPS, type GradCase, io, rename } from '../helpers/gradcheck';
import {
  expectGrads, expectStats, GRID, KINDS, LARGE, type Layout, LAYOUTS, lo, mean, NHWC_CHANNELS, params, sample, TOL,
} from '../helpers/op-checks';

type BnMode = 'training' | 'training+running' | 'inference';

function checkBatchNorm(shape: number[], layout: Layout, mode: BnMode, x: Float32Array, seed: number, momentum?: number) {
  const C = shape[1];
  const { gamma, beta } = params(C, seed);
  const rm0 = normals(C, seed + 7, 0.5, 0.5);
  const rv0 = normals(C, seed + 8, 1, 0.3).map(Math.abs);
  if (mode === 'inference') {
    // Running statistics near the data's own (an offset of 1e4 makes x - rm the hard part).
    const st = refMoments(x, shape, { over: 'batch' });
    for (let c = 0; c < C; c++) {
      rm0[c] += st.mean[c];
      rv0[c] *= st.m2[c] / st.count[c] + 1e-3;
    }
  }
  const runningMean = mode === 'training' ? undefined : rm0.slice();
  const runningVar = mode === 'training' ? undefined : rv0.slice();
  const meanOut = new Float32Array(C);
  const rstd = new Float32Array(C);
  const a = toLayout(x, shape, layout);
  const training = mode !== 'inference';
  const y = F.batchNorm(a.x, a.shape, { gamma, beta, training, runningMean, runningVar, momentum, mean: meanOut, rstd, ...lo(layout) });
  const ref = refBatchNorm(x, shape, { gamma, beta, training, runningMean: runningMean && rm0, runningVar: runningVar && rv0, momentum });
  const ctx = `batchNorm ${layout} ${JSON.stringify(shape)} ${mode}`;
  expect(fwdErr(fromLayout(y, shape, layout), ref.y), ctx).toBeLessThanOrEqual(TOL);
  expectStats(meanOut, rstd, ref, ctx);
  if (runningMean && runningVar) {
    expect(maxAbsDiff(runningMean, ref.runningMean!), `${ctx}: runningMean`).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(ref.runningMean!)));
    expect(relErr(runningVar, ref.runningVar!), `${ctx}: runningVar`).toBeLessThanOrEqual(2e-6);
  }
}

function checkBN(shape: number[], layout: Layout, training: boolean, saved: boolean, x: Float32Array, seed: number) {
  const C = shape[1];
  const dy = normals(x.length, seed + 1000);
  const { gamma } = params(C, seed);
  const st = refMoments(x, shape, { over: 'batch' });
  const runningMean = Float32Array.from(st.mean, (v, c) => v + 0.1 * c - 0.2);
  const runningVar = Float32Array.from(st.m2, (v, c) => (v / st.count[c]) * (0.5 + 0.2 * c) + 1e-2);
  const a = toLayout(x, shape, layout);
  const d = toLayout(dy, shape, layout).x;
  const opts: Record<string, unknown> = { gamma, training, runningMean, runningVar, ...lo(layout) };
  if (saved) {
    opts.mean = new Float32Array(C);
    opts.rstd = new Float32Array(C);
    F.batchNorm(a.x, a.shape, { gamma, training, runningMean: runningMean.slice(), runningVar: runningVar.slice(), mean: opts.mean, rstd: opts.rstd, ...lo(layout) });
  }
  const rm = runningMean.slice();
  const rv = runningVar.slice();
  const got = F.batchNormBackward(d, a.x, a.shape, opts);
  const ref = refBatchNormBackward(dy, x, shape, { gamma, training, runningMean, runningVar });
  expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `batchNormBackward ${layout} ${JSON.stringify(shape)} training=${training} saved=${saved}`,
    ['dx'], (v) => fromLayout(v, shape, layout));
  // The backward pass never updates the running statistics.
  expect(runningMean).toEqual(rm);
  expect(runningVar).toEqual(rv);
}

describe.skipIf(unavailable !== null)(`batchNorm on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => (['training', 'training+running', 'inference'] as const).map((md) => [l, md] as const)))(
      'layout %s, %s matches float64',
      (layout, mode) => {
        const shape = [2, 3, ...spatial];
        checkBatchNorm(shape, layout, mode, makeData('normal', shape, m * 3 + spatial.length), m);
      },
    );
  });

  it.each(NHWC_CHANNELS.flatMap((C) => [1, 7, 33, 1023].map((m) => [C, m] as const)))('NHWC with C = %i, %i pixels', (C, m) => {
    const shape = [3, C, m];
    const x = makeData('mixed', shape, C * 7 + m);
    checkBatchNorm(shape, 'NHWC', 'training+running', x, C);
    checkBatchNorm(shape, 'NHWC', 'inference', x, C);
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.flatMap((l) => (['training+running', 'inference'] as const).map((md) => [k, l, md] as const))))(
    'adversarial %s data, layout %s, %s',
    (kind, layout, mode) => {
      const shape = [4, 3, 17, 31];
      checkBatchNorm(shape, layout, mode, makeData(kind, shape, 77), 3);
    },
  );

  it.each([0, 0.01, 0.5, 1])('momentum %d', (momentum) => {
    const shape = [3, 4, 33];
    for (const layout of LAYOUTS) checkBatchNorm(shape, layout, 'training+running', makeData('normal', shape, 5), 2, momentum);
  });

  it.each([
    ['Float32Array', Float32Array, undefined],
    ['Float64Array', Float64Array, undefined],
    ['Float64Array with count', Float64Array, 12345],
  ] as const)('precomputed stats (%s) are used instead of the batch statistics', (_n, Ctor, count) => {
    const shape = [2, 5, 7, 3];
    const x = makeData('normal', shape, 31);
    const { gamma, beta } = params(5, 2);
    const stats = { mean: Ctor.from(normals(5, 3, 0.3, 0.2)), var: Ctor.from(normals(5, 4, 2, 0.5).map(Math.abs)), count };
    for (const layout of LAYOUTS) {
      const runningMean = normals(5, 5);
      const runningVar = normals(5, 6, 1, 0.1);
      const ref = refBatchNorm(x, shape, { gamma, beta, training: true, stats, runningMean, runningVar });
      const meanOut = new Float32Array(5);
      const rstd = new Float32Array(5);
      const a = toLayout(x, shape, layout);
      const y = F.batchNorm(a.x, a.shape, { gamma, beta, training: true, stats, runningMean, runningVar, mean: meanOut, rstd, ...lo(layout) });
      expect(fwdErr(fromLayout(y, shape, layout), ref.y)).toBeLessThanOrEqual(TOL);
      expectStats(meanOut, rstd, ref, `stats ${layout}`);
      expect(relErr(runningMean, ref.runningMean!)).toBeLessThanOrEqual(2e-6);
      expect(relErr(runningVar, ref.runningVar!)).toBeLessThanOrEqual(2e-6);
    }
  });

  it.each(LAYOUTS)('a constant input normalizes to beta exactly (training, layout %s)', (layout) => {
    const shape = [2, 4, 5, 7];
    const a = toLayout(new Float32Array(numel(shape)).fill(-1234.5), shape, layout);
    const { gamma, beta } = params(4, 3);
    const want = Float32Array.from({ length: a.x.length }, (_, e) => beta[Math.floor(e / 35) % 4]);
    expect(fromLayout(F.batchNorm(a.x, a.shape, { gamma, beta, training: true, ...lo(layout) }), shape, layout)).toEqual(want);
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path): batchNorm training and inference, layout %s', (layout) => {
    const x = makeData('mixed', LARGE, 99);
    checkBatchNorm(LARGE, layout, 'training+running', x, 8);
    checkBatchNorm(LARGE, layout, 'inference', x, 9);
  });
});

describe.skipIf(unavailable !== null)(`batchNormBackward on ${label}`, () => {
  describe.each(GRID)('plane of %i elements as spatial %j', (m, spatial) => {
    it.each(LAYOUTS.flatMap((l) => [true, false].map((t) => [l, t] as const)))('layout %s, training %s, recomputed and saved stats', (layout, training) => {
      const shape = [2, 3, ...spatial];
      const x = makeData('normal', shape, m + spatial.length);
      checkBN(shape, layout, training, false, x, m);
      checkBN(shape, layout, training, true, x, m + 1);
    });
  });

  it.each(NHWC_CHANNELS)('NHWC with C = %i', (C) => {
    for (const spatial of [[1], [7], [33], [31, 33]]) {
      const shape = [3, C, ...spatial];
      const x = makeData('mixed', shape, C);
      checkBN(shape, 'NHWC', true, false, x, C);
      checkBN(shape, 'NHWC', true, true, x, C + 1);
      checkBN(shape, 'NHWC', false, false, x, C + 2);
    }
  });

  it.each(KINDS.flatMap((k) => LAYOUTS.map((l) => [k, l] as const)))('adversarial %s data, layout %s', (kind, layout) => {
    const shape = [4, 3, 17, 31];
    const x = makeData(kind, shape, 7);
    checkBN(shape, layout, true, false, x, 1);
    checkBN(shape, layout, true, true, x, 2);
    checkBN(shape, layout, false, false, x, 3);
  });

  it.each(LAYOUTS)('a [2, 64, 48, 48] tensor (threaded path): batchNormBackward training and inference, layout %s', (layout) => {
    const x = makeData('mixed', LARGE, 199);
    checkBN(LARGE, layout, true, false, x, 3);
    checkBN(LARGE, layout, false, false, x, 4);
  });
});

// ---------------------------------------------------------------------------
// Gradient checks.

function batchNormCase(shape: number[], training: boolean): GradCase {
  const C = shape[1];
  return {
    name: `batchNorm ${JSON.stringify(shape)} ${training ? 'training' : 'inference'}`,
    inputs: () => ({
      x: randn64(numel(shape), 7, 0.3, 1.5), gamma: randn64(C, 8, 1, 0.5), beta: randn64(C, 9),
      runningMean: randn64(C, 10, 0, 0.3), runningVar: randn64(C, 11, 2, 0.3),
    }),
    wrt: ['x', 'gamma', 'beta'],
    outputs: numel(shape),
    forward: (a) => refBatchNorm(a.x, shape, { gamma: a.gamma, beta: a.beta, eps: EPS, training, runningMean: a.runningMean, runningVar: a.runningVar }).y,
    backward: (w, a) => rename(
      refBatchNormBackward(w, a.x, shape, { gamma: a.gamma, eps: EPS, training, runningMean: a.runningMean, runningVar: a.runningVar }),
      { x: 'dx', gamma: 'dgamma', beta: 'dbeta' },
    ),
    lib: (w, a, layout) => {
      const t = io(shape, layout);
      const g = F.batchNormBackward(t.to(w), t.to(a.x), t.shape, {
        gamma: a.gamma, eps: EPS, training, runningMean: a.runningMean, runningVar: a.runningVar, ...t.opt,
      });
      return { x: t.from(g.dx), gamma: g.dgamma, beta: g.dbeta };
    },
    layouts: ['NCHW', 'NHWC'],
  };
}

describe.skipIf(unavailable !== null)(`batchNorm gradients on ${label}`, () => {
  describeGradChecks('gradient checks', [batchNormCase([3, 2, 5], true), batchNormCase([2, 3, 2, 3], true), batchNormCase([3, 2, 5], false)]);
});

// ---------------------------------------------------------------------------
// Properties.

describe.skipIf(unavailable !== null)(`batchNorm properties on ${label}`, () => {
  it.each(LAYOUTS)('(b) batch norm (training) couples the samples; instance/group/layer norm do not (layout %s)', (layout) => {
    const shape = [4, 3, 11, 7];
    const per = numel(shape) / 4;
    const x = toLayout(makeData('normal', shape, 5), shape, layout);
    const x2 = x.x.slice();
    // Sample 0 replaced by other data (not an affine map of itself, which the per-sample norms would undo).
    sample(x2, 0, per).set(normals(per, 6, 10, 3));
    const run = (fn: (v: Float32Array) => Float32Array) => [fn(x.x), fn(x2)];
    const [b1, b2] = run((v) => F.batchNorm(v, x.shape, { training: true, ...lo(layout) }));
    for (const n of [1, 2, 3]) expect(maxAbsDiff(sample(b1, n, per), sample(b2, n, per)), `batch norm, sample ${n}`).toBeGreaterThan(0.1);
    for (const [name, fn] of [
      ['instanceNorm', (v: Float32Array) => F.instanceNorm(v, x.shape, lo(layout))],
      ['groupNorm', (v: Float32Array) => F.groupNorm(v, x.shape, 3, lo(layout))],
      ['conditionalInstanceNorm', (v: Float32Array) => F.conditionalInstanceNorm(v, x.shape, Int32Array.of(0, 1, 0, 1), normals(6, 1), normals(6, 2), lo(layout))],
      ['adaIN', (v: Float32Array) => F.adaIN(v, x.shape, normals(3 * 5, 3, 2, 3), layout === 'NHWC' ? [1, 5, 3] : [1, 3, 5], lo(layout))],
      ['layerNorm', (v: Float32Array) => F.layerNorm(v, x.shape, 3)],
      ['batchNorm inference', (v: Float32Array) => F.batchNorm(v, x.shape, { runningMean: normals(3, 4), runningVar: normals(3, 5, 2, 0.1), ...lo(layout) })],
    ] as const) {
      const [y1, y2] = run(fn);
      expect(maxAbsDiff(sample(y1, 0, per), sample(y2, 0, per)), `${name}: sample 0 changed`).toBeGreaterThan(0.1);
      for (const n of [1, 2, 3]) expect(sample(y2, n, per), `${name}, sample ${n}`).toEqual(sample(y1, n, per));
    }
  });

  it.each(LAYOUTS)('(f) batchNorm with statistics merged from two parts equals batchNorm on the whole batch (layout %s)', (layout) => {
    const shape = [6, 5, 8, 7];
    const x = makeData('mixed', shape, 23);
    const a = toLayout(x, shape, layout);
    const per = numel(shape) / 6;
    const { gamma, beta } = { gamma: normals(5, 1, 1, 0.5), beta: normals(5, 2) };
    const rm0 = normals(5, 3);
    const rv0 = normals(5, 4, 2, 0.2);
    const rmW = rm0.slice();
    const rvW = rv0.slice();
    const yW = F.batchNorm(a.x, a.shape, { gamma, beta, training: true, runningMean: rmW, runningVar: rvW, ...lo(layout) });
    const k = 2;
    const parts = [a.x.subarray(0, k * per), a.x.subarray(k * per)];
    const shapes = [[k, ...a.shape.slice(1)], [6 - k, ...a.shape.slice(1)]];
    const merged = F.mergeMoments(
      F.moments(parts[0], shapes[0], { over: 'batch', ...lo(layout) }),
      F.moments(parts[1], shapes[1], { over: 'batch', ...lo(layout) }),
    );
    const stats = { mean: merged.mean, var: merged.m2.map((v: number, c: number) => v / merged.count[c]), count: merged.count[0] };
    expect(stats.count).toBe(6 * 56);
    for (let i = 0; i < 2; i++) {
      const rm = rm0.slice();
      const rv = rv0.slice();
      const y = F.batchNorm(parts[i], shapes[i], { gamma, beta, training: true, stats, runningMean: rm, runningVar: rv, ...lo(layout) });
      const want = i === 0 ? yW.subarray(0, k * per) : yW.subarray(k * per);
      expect(maxAbsDiff(y, want), `part ${i}`).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(want)));
      // Each worker's running update (with the merged count) equals the whole batch's.
      expect(relErr(rm, rmW), `part ${i} runningMean`).toBeLessThanOrEqual(1e-6);
      expect(relErr(rv, rvW), `part ${i} runningVar`).toBeLessThanOrEqual(1e-6);
    }
  });

  it.each(LAYOUTS)('(h) batchNorm running statistics follow PyTorch\'s rule (unbiased var, momentum), over three steps (layout %s)', (layout) => {
    const shape = [4, 3, 5, 6];
    const count = 4 * 30;
    const runningMean = Float32Array.of(0, 0, 0);
    const runningVar = Float32Array.of(1, 1, 1);
    const rm = [0, 0, 0];
    const rv = [1, 1, 1];
    for (const [step, momentum] of [[0, 0.1], [1, 0.3], [2, undefined]] as const) {
      const x = makeData('normal', shape, 40 + step).map((v, e) => v * (1 + Math.floor(e / 30) % 3) + 5 * step);
      const a = toLayout(x, shape, layout);
      F.batchNorm(a.x, a.shape, { training: true, runningMean, runningVar, momentum, ...lo(layout) });
      const mo = momentum ?? 0.1; // PyTorch's default
      for (let c = 0; c < 3; c++) {
        const vals: number[] = [];
        for (let n = 0; n < 4; n++) vals.push(...x.subarray((n * 3 + c) * 30, (n * 3 + c + 1) * 30));
        const mu = mean(vals);
        const unbiased = vals.reduce((s, v) => s + (v - mu) ** 2, 0) / (count - 1);
        rm[c] = (1 - mo) * rm[c] + mo * mu;
        rv[c] = (1 - mo) * rv[c] + mo * unbiased;
      }
      expect(maxAbsDiff(runningMean, rm), `step ${step} runningMean`).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(rm)));
      expect(relErr(runningVar, rv), `step ${step} runningVar`).toBeLessThanOrEqual(1e-6);
    }
  });

  it('(h) momentum 0 leaves the running statistics unchanged; momentum 1 replaces them with the batch statistics', () => {
    const shape = [3, 2, 17];
    const x = makeData('mixed', shape, 50);
    const rm = Float32Array.of(0.25, -3);
    const rv = Float32Array.of(4, 0.5);
    F.batchNorm(x, shape, { training: true, runningMean: rm, runningVar: rv, momentum: 0 });
    expect(Array.from(rm)).toEqual([0.25, -3]);
    expect(Array.from(rv)).toEqual([4, 0.5]);
    F.batchNorm(x, shape, { training: true, runningMean: rm, runningVar: rv, momentum: 1 });
    const st = refMoments(x, shape, { over: 'batch' });
    for (let c = 0; c < 2; c++) {
      expect(Math.abs(rm[c] - st.mean[c])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(st.mean[c])));
      expect(Math.abs(rv[c] / (st.m2[c] / (st.count[c] - 1)) - 1)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('(h) inference uses the running statistics and leaves them alone; mean/rstd report them', () => {
    const shape = [2, 3, 9];
    const x = makeData('normal', shape, 60);
    const runningMean = Float32Array.of(0.5, -1, 2);
    const runningVar = Float32Array.of(0.25, 4, 1);
    const meanOut = new Float32Array(3);
    const rstd = new Float32Array(3);
    const y = F.batchNorm(x, shape, { runningMean, runningVar, mean: meanOut, rstd, momentum: 0.9 });
    expect(Array.from(runningMean)).toEqual([0.5, -1, 2]);
    expect(Array.from(runningVar)).toEqual([0.25, 4, 1]);
    expect(Array.from(meanOut)).toEqual([0.5, -1, 2]);
    for (let c = 0; c < 3; c++) expect(Math.abs(rstd[c] * Math.sqrt(runningVar[c] + 1e-5) - 1)).toBeLessThanOrEqual(1e-6);
    const want = Float64Array.from(x, (v, e) => { const c = Math.floor(e / 9) % 3; return (v - runningMean[c]) / Math.sqrt(runningVar[c] + 1e-5); });
    expect(fwdErr(y, want)).toBeLessThanOrEqual(1e-6);
  });
});
