// Instance norm's short planes go to the plane-batch kernels (up to 64
// planes of a sample per call, fp32 statistics; native/ops/policy.h says
// which lengths, per ISA), which flag the planes they cannot do for the
// exact path. This suite is about the seams of that path: lengths on both
// sides of the switch, channel counts across the 64-plane batches, flagged
// planes among normal ones in the same batch, affine rows per sample and
// per condition, AdaIN's double coefficients, and results that do not
// depend on the thread count or on which other samples share the call.
import { describe, expect, it } from 'vitest';
import { F, label, lib, unavailable } from '../helpers/backend-under-test';
import { normals } from '../helpers/data.mjs';
import { fwdErr, maxAbs, maxAbsDiff } from '../helpers/metrics.mjs';
import {
  gatherRows, refAdaIN, refConditionalInstanceNorm, refInstanceNorm, refInstanceNormBackward,
} from '../helpers/reference.mjs';
import { expectGrads, expectStats, TOL } from '../helpers/op-checks';

// Around the switch for SIMD ISAs (160) and for scalar code (1024), and short ones.
const LENGTHS = [1, 2, 7, 64, 144, 160, 161, 1024, 1025];
// Fewer, exactly, and more than one batch of planes per sample.
const CHANNELS = [3, 64, 70];

/** N(0, 1) planes with a different offset and scale each. */
function planes(N: number, C: number, m: number, seed: number): Float32Array {
  const x = normals(N * C * m, seed);
  for (let p = 0; p < N * C; p++) {
    const o = ((p * 37) % 11) - 5, s = 0.1 + ((p * 13) % 7);
    for (let i = 0; i < m; i++) x[p * m + i] = o * 100 + s * x[p * m + i];
  }
  return x;
}

/** Bit patterns, so that -0 and NaN payloads count. */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe.skipIf(unavailable !== null)(`instance norm plane batches on ${label}`, () => {
  describe.each(LENGTHS)('planes of %i', (m) => {
    it.each(CHANNELS)('C = %i: forward and saved statistics match float64, per-channel and per-sample affine', (C) => {
      const N = 3, shape = [N, C, m];
      const x = planes(N, C, m, 11 + m + C);
      for (const perSample of [false, true]) {
        const len = perSample ? N * C : C;
        const gamma = normals(len, 5, 1, 0.5), beta = normals(len, 6);
        const mean = new Float32Array(N * C), rstd = new Float32Array(N * C);
        const y = F.instanceNorm(x, shape, { gamma, beta, mean, rstd });
        const ref = refInstanceNorm(x, shape, { gamma, beta });
        const ctx = `[${shape}] perSample=${perSample}`;
        expect(fwdErr(y, ref.y), ctx).toBeLessThanOrEqual(TOL);
        if (m > 1) expectStats(mean, rstd, ref, ctx);
      }
    });

    it.each(CHANNELS)('C = %i: backward matches float64, saved and recomputed statistics', (C) => {
      const N = 2, shape = [N, C, m];
      const x = planes(N, C, m, 21 + m + C);
      const dy = normals(x.length, 22);
      const gamma = normals(C, 7, 1, 0.5);
      const mean = new Float32Array(N * C), rstd = new Float32Array(N * C);
      F.instanceNorm(x, shape, { gamma, mean, rstd });
      const ref = refInstanceNormBackward(dy, x, shape, { gamma });
      for (const saved of [true, false]) {
        const got = F.instanceNormBackward(dy, x, shape, saved ? { gamma, mean, rstd } : { gamma });
        expectGrads(got, ref, ['dx', 'dgamma', 'dbeta'], `[${shape}] saved=${saved}`);
      }
    });
  });

  it('flagged planes among normal ones in one batch: each plane as float64 says', () => {
    // 70 planes of 64: the specials sit at both ends of the first batch and in the second.
    const N = 1, C = 70, m = 64, shape = [N, C, m];
    const x = planes(N, C, m, 31);
    const plane = (c: number) => x.subarray(c * m, (c + 1) * m);
    plane(0).fill(4.5); // constant: xhat = 0, y = beta
    plane(1).fill(0); // all zero
    plane(5).set(normals(m, 32, 1e4, 1)); // offset 1e4
    plane(9).set(normals(m, 33, 0, 1e30)); // variance beyond the float range
    plane(13).set(normals(m, 34, 0, 1e-30)); // variance below the float range
    plane(17).set(normals(m, 35, 0, 1e-41)); // subnormal values
    plane(63).fill(3e-20); // tiny constant
    plane(64).set(normals(m, 36, -2e38, 1e37)); // near the float maximum
    const gamma = normals(C, 37, 1, 0.5), beta = normals(C, 38);
    const mean = new Float32Array(C), rstd = new Float32Array(C);
    const y = F.instanceNorm(x, shape, { gamma, beta, mean, rstd });
    const ref = refInstanceNorm(x, shape, { gamma, beta });
    for (let c = 0; c < C; c++) {
      const got = y.subarray(c * m, (c + 1) * m), want = ref.y.slice(c * m, (c + 1) * m);
      expect(fwdErr(got, want), `plane ${c}`).toBeLessThanOrEqual(TOL);
      expect(Math.abs(mean[c] - ref.mean[c]), `mean ${c}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(ref.mean[c])));
    }
    const dy = normals(x.length, 39);
    const g = F.instanceNormBackward(dy, x, shape, { gamma, mean, rstd });
    const r = refInstanceNormBackward(dy, x, shape, { gamma });
    for (const c of [2, 5, 17, 63, 64, 69]) {
      const got = g.dx.subarray(c * m, (c + 1) * m), want = r.dx.slice(c * m, (c + 1) * m);
      expect(maxAbsDiff(got, want), `dx plane ${c}`).toBeLessThanOrEqual(TOL * (1 + maxAbs(want)));
    }
  });

  it('a NaN plane gives NaN outputs and statistics and leaves its neighbours alone', () => {
    const C = 66, m = 16, shape = [1, C, m];
    const x = planes(1, C, m, 41);
    x[3 * m + 5] = NaN;
    const mean = new Float32Array(C), rstd = new Float32Array(C);
    const y = lib.instanceNorm(x, shape, { mean, rstd });
    const clean = x.slice();
    clean.fill(0, 3 * m, 4 * m);
    const ref = refInstanceNorm(clean, shape);
    for (let c = 0; c < C; c++) {
      const got = y.subarray(c * m, (c + 1) * m);
      if (c === 3) {
        expect(got.every(Number.isNaN), 'NaN plane').toBe(true);
        expect(Number.isNaN(mean[c])).toBe(true);
      } else {
        expect(fwdErr(got, ref.y.slice(c * m, (c + 1) * m)), `plane ${c}`).toBeLessThanOrEqual(TOL);
      }
    }
  });

  it('conditional instance norm: each sample normalized with its own row of the table', () => {
    const N = 3, C = 70, m = 36, K = 4, shape = [N, C, m];
    const x = planes(N, C, m, 51);
    const condition = Int32Array.from([2, 0, 3]);
    const gammaTable = normals(K * C, 52, 1, 0.5), betaTable = normals(K * C, 53);
    const y = F.conditionalInstanceNorm(x, shape, condition, gammaTable, betaTable);
    const ref = refConditionalInstanceNorm(x, shape, condition, gammaTable, betaTable);
    expect(fwdErr(y, ref.y)).toBeLessThanOrEqual(TOL);
    const same = lib.instanceNorm(x, shape, { gamma: Float32Array.from(gatherRows(gammaTable, condition, C)), beta: Float32Array.from(gatherRows(betaTable, condition, C)) });
    expect(bits(y)).toEqual(bits(same));
  });

  it('AdaIN with a style deviation beyond the float range folds it in double (the per-group path)', () => {
    // Unbiased 2-element style planes of +-3e38: sigma ~ 4.2e38, more than a float holds.
    const C = 4, m = 64;
    const content = planes(1, C, m, 61);
    const style = new Float32Array(C * 2);
    for (let c = 0; c < C; c++) { style[2 * c] = -3e38; style[2 * c + 1] = 3e38; }
    const alpha = 1e-3; // y = alpha*sigma*xhat + (1-alpha)*x stays finite
    const y = F.adaIN(content, [1, C, m], style, [1, C, 2], { alpha, unbiased: true });
    const ref = refAdaIN(content, [1, C, m], style, [1, C, 2], { alpha, unbiased: true });
    expect(ref.styleSigma[0]).toBeGreaterThan(3.5e38);
    expect(y.every(Number.isFinite)).toBe(true);
    expect(fwdErr(y, ref.y)).toBeLessThanOrEqual(TOL);
  });

  it('the same bits on 1 and 2 threads, and for a sample alone or in a batch of samples', () => {
    const N = 8, C = 130, m = 64, shape = [N, C, m]; // 532480 elements: above the threading threshold
    const x = planes(N, C, m, 71);
    const dy = normals(x.length, 72);
    const gamma = normals(C, 73, 1, 0.5), beta = normals(C, 74);
    const threads = lib.getThreads();
    try {
      const runs = [1, 2].map((t) => {
        lib.setThreads(t);
        const mean = new Float32Array(N * C), rstd = new Float32Array(N * C);
        const y = lib.instanceNorm(x, shape, { gamma, beta, mean, rstd });
        const g = lib.instanceNormBackward(dy, x, shape, { gamma, mean, rstd });
        return { y, mean, rstd, ...g };
      });
      for (const k of ['y', 'mean', 'rstd', 'dx', 'dgamma', 'dbeta'] as const) expect(bits(runs[1][k]), k).toEqual(bits(runs[0][k]));
      const per = C * m;
      const alone = lib.instanceNorm(x.subarray(5 * per, 6 * per), [1, C, m], { gamma, beta });
      expect(bits(alone)).toEqual(bits(runs[0].y.subarray(5 * per, 6 * per)));
    } finally {
      lib.setThreads(threads);
    }
  });
});
