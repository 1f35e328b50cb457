// Bad arguments of layerNorm and layerNormBackward: each case names the call,
// the error class and a pattern its message must match (../validation.test.ts
// runs them and checks that nothing was written).
import { C, type Case, dx, F, f32, M, N, NUMEL, out, SHAPE, x } from './fixtures';

const ln = (shape: unknown, k: unknown, opts?: object) => F.layerNorm(x(), shape, k, { out, ...opts });
const lnb = (k: unknown, opts?: object) => F.layerNormBackward(x(), x(), SHAPE, k, { dx, ...opts });

export const cases: Case[] = [
  ['x as a Float64Array', 'layerNorm', () => F.layerNorm(new Float64Array(NUMEL), SHAPE, 1, { out }), TypeError, /\bx\b/],
  ['shape of rank 0', 'layerNorm', () => ln([], 1), RangeError, /shape/],
  ['shape not matching x', 'layerNorm', () => ln([NUMEL + 1], 1), RangeError, /\bx\b|shape/],
  ['normalizedRank 0', 'layerNorm', () => ln(SHAPE, 0), RangeError, /normalizedRank/],
  ['normalizedRank above the rank', 'layerNorm', () => ln(SHAPE, 4), RangeError, /normalizedRank/],
  ['normalizedRank negative', 'layerNorm', () => ln(SHAPE, -1), RangeError, /normalizedRank/],
  ['normalizedRank not an integer', 'layerNorm', () => ln(SHAPE, 1.5), RangeError, /normalizedRank/],
  ['normalizedRank as a string', 'layerNorm', () => ln(SHAPE, '1'), TypeError, /normalizedRank/],
  ['normalizedRank missing', 'layerNorm', () => ln(SHAPE, undefined), TypeError, /normalizedRank/],
  ['gamma of length C (not L = 4)', 'layerNorm', () => ln(SHAPE, 1, { gamma: f32(C) }), RangeError, /options\.gamma/],
  ['beta of length 4 for normalizedRank 2 (L = 24)', 'layerNorm', () => ln(SHAPE, 2, { beta: f32(M) }), RangeError, /options\.beta/],
  ['mean of length N (not R = 12)', 'layerNorm', () => ln(SHAPE, 1, { mean: f32(N) }), RangeError, /options\.mean/],
  ['rstd of length 12 for normalizedRank 2 (R = 2)', 'layerNorm', () => ln(SHAPE, 2, { rstd: f32(12) }), RangeError, /options\.rstd/],
  ['a layout (layerNorm has none)', 'layerNorm', () => ln(SHAPE, 1, { layout: 'NCHW' }), TypeError, /options\.layout/],
  ['an unknown option', 'layerNorm', () => ln(SHAPE, 1, { normalizedShape: [4] }), TypeError, /options\.normalizedShape/],
  ['backward: normalizedRank above the rank', 'layerNormBackward', () => lnb(5), RangeError, /normalizedRank/],
  ['backward: dgamma of the wrong length', 'layerNormBackward', () => lnb(1, { dgamma: f32(C) }), RangeError, /options\.dgamma/],
  ['backward: mean/rstd of the wrong length', 'layerNormBackward', () => lnb(1, { mean: f32(5), rstd: f32(5) }), RangeError, /options\.(mean|rstd)/],
];

/** Calls like the cases with every argument right: they must not throw. */
export const valid: (() => unknown)[] = [
  () => F.layerNorm(x(), SHAPE, 2, { gamma: f32(NUMEL / N) }),
  () => F.layerNorm(x(), SHAPE, 3, { gamma: f32(NUMEL) }),
  () => F.layerNorm(x(), [NUMEL], 1),
  () => F.layerNormBackward(x(), x(), SHAPE, 1, { gamma: f32(M) }),
];
