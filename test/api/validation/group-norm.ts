// Bad arguments of groupNorm and groupNormBackward: each case names the call,
// the error class and a pattern its message must match (../validation.test.ts
// runs them and checks that nothing was written).
import { C, type Case, dbeta, dgamma, dx, F, f32, guard, M, meanNC, N, NUMEL, out, SHAPE, x } from './fixtures';

const meanG = guard(N * 3);
const rstdG = guard(N * 3);
const gn = (xx: unknown, shape: unknown, groups: unknown, opts?: object) =>
  F.groupNorm(xx, shape, groups, { out, mean: meanG, rstd: rstdG, ...opts });
const gnb = (groups: unknown, opts?: object) => F.groupNormBackward(x(), x(), SHAPE, groups, { dx, dgamma, dbeta, ...opts });

export const cases: Case[] = [
  ['x as a plain array', 'groupNorm', () => gn(Array.from(x()), SHAPE, 3), TypeError, /\bx\b/],
  ['x as a Float64Array', 'groupNorm', () => gn(new Float64Array(NUMEL), SHAPE, 3), TypeError, /\bx\b/],
  ['x too short', 'groupNorm', () => gn(f32(NUMEL - 1), SHAPE, 3), RangeError, /\bx\b/],
  ['shape not an array', 'groupNorm', () => gn(x(), 48, 3), TypeError, /shape/],
  ['shape of rank 2', 'groupNorm', () => gn(x(), [12, 4], 3), RangeError, /shape/],
  ['shape with a fraction', 'groupNorm', () => gn(x(), [2, 6, 4.5], 3), RangeError, /shape/],
  ['groups as a string', 'groupNorm', () => gn(x(), SHAPE, '3'), TypeError, /groups/],
  ['groups missing', 'groupNorm', () => gn(x(), SHAPE, undefined), TypeError, /groups/],
  ['groups not dividing C', 'groupNorm', () => gn(x(), SHAPE, 4), RangeError, /groups/],
  ['groups greater than C', 'groupNorm', () => gn(x(), SHAPE, 12), RangeError, /groups/],
  ['groups 0', 'groupNorm', () => gn(x(), SHAPE, 0), RangeError, /groups/],
  ['groups negative', 'groupNorm', () => gn(x(), SHAPE, -3), RangeError, /groups/],
  ['groups not an integer', 'groupNorm', () => gn(x(), SHAPE, 1.5), RangeError, /groups/],
  ['groups NaN', 'groupNorm', () => gn(x(), SHAPE, NaN), RangeError, /groups/],
  ['groups dividing dim 1 but not C = the last dim of a channels-last shape', 'groupNorm',
    () => gn(x(), [N, C, M], 3, { layout: 'NHWC', mean: f32(N * 3), rstd: f32(N * 3) }), RangeError, /groups/],
  ['gamma neither C nor N*C long', 'groupNorm', () => gn(x(), SHAPE, 3, { gamma: f32(5) }), RangeError, /options\.gamma/],
  ['beta neither C nor N*C long', 'groupNorm', () => gn(x(), SHAPE, 3, { beta: f32(N * C + 1) }), RangeError, /options\.beta/],
  ['gamma as a Float64Array', 'groupNorm', () => gn(x(), SHAPE, 3, { gamma: new Float64Array(C) }), TypeError, /options\.gamma/],
  ['mean of length N*C (not N*groups)', 'groupNorm', () => gn(x(), SHAPE, 3, { mean: meanNC }), RangeError, /options\.mean/],
  ['rstd of length N (not N*groups)', 'groupNorm', () => gn(x(), SHAPE, 3, { rstd: f32(N) }), RangeError, /options\.rstd/],
  ['layout misspelt', 'groupNorm', () => gn(x(), SHAPE, 3, { layout: 'NWHC' }), RangeError, /layout/],
  ['layout as a number', 'groupNorm', () => gn(x(), SHAPE, 3, { layout: 1 }), TypeError, /layout/],
  ['eps negative', 'groupNorm', () => gn(x(), SHAPE, 3, { eps: -1 }), RangeError, /eps/],
  ['an unknown option', 'groupNorm', () => gn(x(), SHAPE, 3, { bogus: 1 }), TypeError, /options\.bogus/],
  ['backward: groups not dividing C', 'groupNormBackward', () => gnb(5), RangeError, /groups/],
  ['backward: groups as a string', 'groupNormBackward', () => gnb('2'), TypeError, /groups/],
  ['backward: dy as an array', 'groupNormBackward', () => F.groupNormBackward([1], x(), SHAPE, 2, { dx }), TypeError, /\bdy\b/],
  ['backward: gamma of length 5', 'groupNormBackward', () => gnb(2, { gamma: f32(5) }), RangeError, /options\.gamma/],
  ['backward: mean/rstd of length N*C (not N*groups)', 'groupNormBackward', () => gnb(3, { mean: f32(N * C), rstd: f32(N * C) }), RangeError, /options\.(mean|rstd)/],
  ['backward: dgamma of length C with per-sample gamma', 'groupNormBackward', () => gnb(3, { gamma: f32(N * C) }), RangeError, /options\.dgamma/],
  ['backward: dx of the wrong length', 'groupNormBackward', () => F.groupNormBackward(x(), x(), SHAPE, 3, { dx: f32(NUMEL + 1), dgamma }), RangeError, /options\.dx/],
  ['backward: layout misspelt', 'groupNormBackward', () => gnb(3, { layout: 'CHWN' }), RangeError, /layout/],
  ['backward: an unknown option', 'groupNormBackward', () => gnb(3, { out: f32(NUMEL) }), TypeError, /options\.out/],
];

/** Calls like the cases with every argument right: they must not throw. */
export const valid: (() => unknown)[] = [
  () => F.groupNorm(x(), SHAPE, 3, { out: f32(NUMEL) }),
  () => F.groupNorm(x(), SHAPE, 3, { gamma: f32(N * C), beta: f32(N * C) }),
  () => F.groupNorm(x(), [N, M, C], 3, { layout: 'NHWC' }),
  () => F.groupNormBackward(x(), x(), SHAPE, 3, { gamma: f32(N * C), dgamma: f32(N * C) }),
];
