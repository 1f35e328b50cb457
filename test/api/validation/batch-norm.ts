// Bad arguments of batchNorm and batchNormBackward: each case names the call,
// the error class and a pattern its message must match (../validation.test.ts
// runs them and checks that nothing was written).
import { expect } from 'vitest';
import { C, type Case, dbeta, dgamma, dx, F, f32, guard, meanC, meanNC, N, NUMEL, out, rstdC, SHAPE, x } from './fixtures';

const runningMean = guard(C);
const runningVar = guard(C);
const bn = (opts?: object) => F.batchNorm(x(), SHAPE, { out, mean: meanC, rstd: rstdC, ...opts });
const bnt = (opts?: object) => bn({ training: true, runningMean, runningVar, ...opts });
const bnb = (opts?: object) => F.batchNormBackward(x(), x(), SHAPE, { dx, dgamma, dbeta, ...opts });
const goodStats = () => ({ mean: f32(C, 0), var: f32(C, 1) });

export const cases: Case[] = [
  ['inference without running statistics', 'batchNorm', () => bn(), TypeError, /runningMean|runningVar/],
  ['inference with runningMean only', 'batchNorm', () => bn({ runningMean }), TypeError, /runningVar/],
  ['inference with runningVar only', 'batchNorm', () => bn({ runningVar, training: false }), TypeError, /runningMean/],
  ['runningMean of length N*C', 'batchNorm', () => bnt({ runningMean: f32(N * C) }), RangeError, /options\.runningMean/],
  ['runningVar as a Float64Array', 'batchNorm', () => bnt({ runningVar: new Float64Array(C) }), TypeError, /options\.runningVar/],
  ['momentum negative', 'batchNorm', () => bnt({ momentum: -0.1 }), RangeError, /momentum/],
  ['momentum above 1', 'batchNorm', () => bnt({ momentum: 1.5 }), RangeError, /momentum/],
  ['momentum NaN', 'batchNorm', () => bnt({ momentum: NaN }), RangeError, /momentum/],
  ['momentum Infinity', 'batchNorm', () => bnt({ momentum: Infinity }), RangeError, /momentum/],
  ['momentum as a string', 'batchNorm', () => bnt({ momentum: '0.1' }), TypeError, /momentum/],
  ['training as a string', 'batchNorm', () => bnt({ training: 'yes' }), TypeError, /training/],
  ['gamma of length N*C (batch norm is per channel)', 'batchNorm', () => bnt({ gamma: f32(N * C) }), RangeError, /options\.gamma/],
  ['beta of length C + 1', 'batchNorm', () => bnt({ beta: f32(C + 1) }), RangeError, /options\.beta/],
  ['mean of length N*C', 'batchNorm', () => bnt({ mean: meanNC }), RangeError, /options\.mean/],
  ['rstd of length 1', 'batchNorm', () => bnt({ rstd: f32(1) }), RangeError, /options\.rstd/],
  ['stats.mean of the wrong length', 'batchNorm', () => bnt({ stats: { mean: f32(C - 1), var: f32(C) } }), RangeError, /stats/],
  ['stats.var missing', 'batchNorm', () => bnt({ stats: { mean: f32(C) } }), TypeError, /stats/],
  ['stats.mean as an array', 'batchNorm', () => bnt({ stats: { mean: new Array(C).fill(0), var: f32(C) } }), TypeError, /stats/],
  ['stats.count as a string', 'batchNorm', () => bnt({ stats: { ...goodStats(), count: '48' } }), TypeError, /count/],
  ['stats as a number', 'batchNorm', () => bnt({ stats: 3 }), TypeError, /stats/],
  ['layout misspelt', 'batchNorm', () => bnt({ layout: 'NCWH' }), RangeError, /layout/],
  ['an unknown option', 'batchNorm', () => bnt({ running_mean: f32(C) }), TypeError, /options\.running_mean/],
  ['backward: inference without running statistics', 'batchNormBackward', () => bnb(), TypeError, /runningMean|runningVar/],
  ['backward: runningVar of the wrong length', 'batchNormBackward', () => bnb({ runningMean: f32(C), runningVar: f32(C + 1) }), RangeError, /options\.runningVar/],
  ['backward: gamma of length N*C', 'batchNormBackward', () => bnb({ training: true, gamma: f32(N * C) }), RangeError, /options\.gamma/],
  ['backward: dgamma of length N*C', 'batchNormBackward', () => F.batchNormBackward(x(), x(), SHAPE, { training: true, dgamma: f32(N * C) }), RangeError, /options\.dgamma/],
  ['backward: mean/rstd of length N*C', 'batchNormBackward', () => bnb({ training: true, mean: f32(N * C), rstd: f32(N * C) }), RangeError, /options\.(mean|rstd)/],
  ['backward: layout misspelt', 'batchNormBackward', () => bnb({ training: true, layout: 'N' }), RangeError, /layout/],
  ['backward: an unknown option', 'batchNormBackward', () => bnb({ training: true, out: f32(NUMEL) }), TypeError, /options\.out/],
];

/** Calls like the cases with every argument right: they must not throw. */
export const valid: (() => unknown)[] = [
  () => F.batchNorm(x(), SHAPE, { runningMean: f32(C, 0), runningVar: f32(C, 1) }),
  () => F.batchNorm(x(), SHAPE, { training: true }),
  () => F.batchNorm(x(), SHAPE, { training: true, stats: { mean: new Float64Array(C), var: new Float64Array(C).fill(1), count: 100 } }),
  () => F.batchNorm(x(), SHAPE, { training: true, runningMean: f32(C), runningVar: f32(C), momentum: 0 }),
  () => F.batchNorm(x(), SHAPE, { training: true, runningMean: f32(C), runningVar: f32(C), momentum: 1 }),
  () => F.batchNormBackward(x(), x(), SHAPE, { runningMean: f32(C), runningVar: f32(C) }),
];

/** Further checks, run as tests of their own. */
export const extra: Record<string, () => void> = {
  'a rejected training call leaves the running statistics alone (checks come before the update)': () => {
    const rm = Float32Array.of(1, 2, 3, 4, 5, 6);
    const rv = Float32Array.of(1, 1, 1, 1, 1, 1);
    const before = [...rm, ...rv];
    expect(() => F.batchNorm(x(), SHAPE, { training: true, runningMean: rm, runningVar: rv, out: f32(NUMEL - 1) })).toThrow(RangeError);
    expect(() => F.batchNorm(x(), SHAPE, { training: true, runningMean: rm, runningVar: rv, gamma: f32(2) })).toThrow(RangeError);
    expect(() => F.batchNorm(x(), SHAPE, { training: true, runningMean: rm, runningVar: rv, layout: 'bad' })).toThrow(RangeError);
    expect([...rm, ...rv]).toEqual(before);
  },
};
