// Bad arguments of adaIN and adaINBackward: each case names the call,
// the error class and a pattern its message must match (../validation.test.ts
// runs them and checks that nothing was written).
import { C, type Case, dx, F, f32, guard, N, NHWC, NUMEL, out, SHAPE, x } from './fixtures';

const dstyle = guard(C * 3);
const STYLE = [1, C, 3];
const style = () => Float32Array.from({ length: C * 3 }, (_, i) => Math.cos(i) * 2 + 1);
const ada = (s: unknown, sShape: unknown, opts?: object) => F.adaIN(x(), SHAPE, s, sShape, { out, ...opts });
const adab = (opts?: object) => F.adaINBackward(x(), x(), SHAPE, style(), STYLE, { dcontent: dx, dstyle, ...opts });

export const cases: Case[] = [
  ['content as a Float64Array', 'adaIN', () => F.adaIN(new Float64Array(NUMEL), SHAPE, style(), STYLE, { out }), TypeError, /content/],
  ['content too long', 'adaIN', () => F.adaIN(f32(NUMEL + 1), SHAPE, style(), STYLE, { out }), RangeError, /content/],
  ['style as a plain array', 'adaIN', () => ada(Array.from(style()), STYLE), TypeError, /style/],
  ['style with a different C', 'adaIN', () => ada(f32(5 * 3), [1, 5, 3]), RangeError, /style/],
  ['style batch 3 for a content batch of 2', 'adaIN', () => ada(f32(3 * C * 3), [3, C, 3]), RangeError, /style/],
  ['style not matching its shape', 'adaIN', () => ada(f32(C * 3 + 1), STYLE), RangeError, /style/],
  ['styleShape of rank 2', 'adaIN', () => ada(style(), [C, 3]), RangeError, /style/],
  ['styleShape not an array', 'adaIN', () => ada(style(), 18), TypeError, /style/],
  ['alpha above 1', 'adaIN', () => ada(style(), STYLE, { alpha: 1.5 }), RangeError, /alpha/],
  ['alpha negative', 'adaIN', () => ada(style(), STYLE, { alpha: -0.1 }), RangeError, /alpha/],
  ['alpha NaN', 'adaIN', () => ada(style(), STYLE, { alpha: NaN }), RangeError, /alpha/],
  ['alpha as a string', 'adaIN', () => ada(style(), STYLE, { alpha: '1' }), TypeError, /alpha/],
  ['unbiased with 1-element style planes', 'adaIN', () => ada(f32(C), [1, C, 1], { unbiased: true }), RangeError, /unbiased|style/],
  ['unbiased with 1-element content planes', 'adaIN', () => F.adaIN(f32(N * C), [N, C, 1], style(), STYLE, { unbiased: true, out: f32(N * C) }), RangeError, /unbiased|content/],
  ['unbiased as a string', 'adaIN', () => ada(style(), STYLE, { unbiased: 'yes' }), TypeError, /unbiased/],
  ['eps negative', 'adaIN', () => ada(style(), STYLE, { eps: -1e-5 }), RangeError, /eps/],
  ['layout misspelt', 'adaIN', () => ada(style(), STYLE, { layout: 'NCHW ' }), RangeError, /layout/],
  ['channels-last style whose last dim is not C', 'adaIN', () => F.adaIN(x(), NHWC, f32(C * 3), [1, C, 3], { out, layout: 'NHWC' }), RangeError, /style/],
  ['out of the wrong length', 'adaIN', () => F.adaIN(x(), SHAPE, style(), STYLE, { out: f32(NUMEL - 1) }), RangeError, /options\.out/],
  ['an unknown option', 'adaIN', () => ada(style(), STYLE, { gamma: f32(C) }), TypeError, /options\.gamma/],
  ['backward: dstyle of the content\'s length', 'adaINBackward', () => adab({ dstyle: f32(NUMEL) }), RangeError, /dstyle/],
  ['backward: dcontent of the wrong length', 'adaINBackward', () => adab({ dcontent: f32(NUMEL + 1) }), RangeError, /dcontent/],
  ['backward: alpha above 1', 'adaINBackward', () => adab({ alpha: 2 }), RangeError, /alpha/],
  ['backward: unbiased with 1-element style planes', 'adaINBackward',
    () => F.adaINBackward(x(), x(), SHAPE, f32(C), [1, C, 1], { unbiased: true, dcontent: dx }), RangeError, /unbiased|style/],
  ['backward: style batch not 1 or N', 'adaINBackward', () => F.adaINBackward(x(), x(), SHAPE, f32(3 * C * 3), [3, C, 3], { dcontent: dx }), RangeError, /style/],
  ['backward: an unknown option', 'adaINBackward', () => adab({ dx: f32(NUMEL) }), TypeError, /options\.dx/],
];

/** Calls like the cases with every argument right: they must not throw. */
export const valid: (() => unknown)[] = [
  () => F.adaIN(x(), SHAPE, style(), STYLE, { alpha: 0 }),
  () => F.adaIN(x(), SHAPE, f32(N * C * 3), [N, C, 3], { alpha: 1, unbiased: true }),
  () => F.adaIN(x(), SHAPE, f32(C), [1, C, 1]), // biased: 1-element style planes are fine
  () => F.adaIN(x(), NHWC, style(), [1, 3, C], { layout: 'NHWC' }),
  () => F.adaINBackward(x(), x(), SHAPE, style(), STYLE, { alpha: 0.5 }),
];
