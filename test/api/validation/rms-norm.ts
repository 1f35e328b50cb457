// Bad arguments of rmsNorm and rmsNormBackward: each case names the call, the
// error class and a pattern its message must match (../validation.test.ts
// runs them and checks that nothing was written). Validation as layerNorm's:
// rows are the last normalizedRank dims of x of shape [2, 3, 4]; gamma has
// one value per row element (4 for normalizedRank 1, 12 for 2); rstd one per
// row (6 for normalizedRank 1, 2 for 2); there is no beta and no mean.
import { type Case, F, f32, guard } from './fixtures';

export const requires = ['rmsNorm', 'rmsNormBackward'];

const SHAPE = [2, 3, 4];
const NUMEL = 24;
const x = () => Float32Array.from({ length: NUMEL }, (_, i) => Math.cos(i) * (1 + (i % 3)));
const out = guard(NUMEL);
const rstd = guard(6);
const dx = guard(NUMEL);
const dgamma = guard(4);
// x of an in-place call that is rejected: it must keep its values too.
const inPlace = guard(NUMEL);

const rms = (xx: unknown, shape: unknown, k: unknown, opts?: object) => F.rmsNorm(xx, shape, k, { out, rstd, ...opts });
const rmsb = (dy: unknown, xx: unknown, shape: unknown, k: unknown, opts?: object) => F.rmsNormBackward(dy, xx, shape, k, { dx, dgamma, ...opts });

export const cases: Case[] = [
  ['x as a plain array', 'rmsNorm', () => rms(Array.from(x()), SHAPE, 1), TypeError, /\bx must be a Float32Array/],
  ['x as a Float64Array', 'rmsNorm', () => rms(new Float64Array(NUMEL), SHAPE, 1), TypeError, /\bx must be a Float32Array/],
  ['x as null', 'rmsNorm', () => rms(null, SHAPE, 1), TypeError, /\bx must be a Float32Array/],
  ['x too short', 'rmsNorm', () => rms(f32(NUMEL - 1), SHAPE, 1), RangeError, /\bx must have .*= 24 elements, got 23/],
  ['shape not an array', 'rmsNorm', () => rms(x(), 24, 1), TypeError, /\bshape\b/],
  ['shape of rank 0', 'rmsNorm', () => rms(x(), [], 1), RangeError, /\bshape\b/],
  ['shape with a zero', 'rmsNorm', () => rms(x(), [2, 0, 4], 1), RangeError, /shape\[1\]/],
  ['shape with a fraction', 'rmsNorm', () => rms(x(), [2, 3, 4.5], 1), RangeError, /shape\[2\]/],
  ['shape with a string', 'rmsNorm', () => rms(x(), [2, '3', 4], 1), TypeError, /shape\[1\]/],
  ['shape not matching x', 'rmsNorm', () => rms(x(), [25], 1), RangeError, /\bx must have .*= 25 elements, got 24/],
  ['normalizedRank 0', 'rmsNorm', () => rms(x(), SHAPE, 0), RangeError, /normalizedRank/],
  ['normalizedRank above the rank', 'rmsNorm', () => rms(x(), SHAPE, 4), RangeError, /normalizedRank/],
  ['normalizedRank negative', 'rmsNorm', () => rms(x(), SHAPE, -1), RangeError, /normalizedRank/],
  ['normalizedRank not an integer', 'rmsNorm', () => rms(x(), SHAPE, 1.5), RangeError, /normalizedRank/],
  ['normalizedRank as a string', 'rmsNorm', () => rms(x(), SHAPE, '1'), TypeError, /normalizedRank/],
  ['normalizedRank missing', 'rmsNorm', () => rms(x(), SHAPE, undefined), TypeError, /normalizedRank/],
  ['gamma of length C (not the row length 4)', 'rmsNorm', () => rms(x(), SHAPE, 1, { gamma: f32(3) }), RangeError, /options\.gamma must have .*= 4 elements, got 3/],
  ['gamma of length 4 for normalizedRank 2 (rows of 12)', 'rmsNorm', () => rms(x(), SHAPE, 2, { gamma: f32(4) }), RangeError, /options\.gamma must have .*= 12 elements, got 4/],
  ['gamma as a Float64Array', 'rmsNorm', () => rms(x(), SHAPE, 1, { gamma: new Float64Array(4) }), TypeError, /options\.gamma must be a Float32Array/],
  ['gamma as a plain array', 'rmsNorm', () => rms(x(), SHAPE, 1, { gamma: [1, 1, 1, 1] }), TypeError, /options\.gamma must be a Float32Array/],
  ['beta (RMS norm has no shift)', 'rmsNorm', () => rms(x(), SHAPE, 1, { beta: f32(4) }), TypeError, /options\.beta is not an option/],
  ['mean (RMS norm has no mean)', 'rmsNorm', () => rms(x(), SHAPE, 1, { mean: f32(6) }), TypeError, /options\.mean is not an option/],
  ['a layout (rmsNorm has none)', 'rmsNorm', () => rms(x(), SHAPE, 1, { layout: 'NCHW' }), TypeError, /options\.layout is not an option/],
  ['an unknown option', 'rmsNorm', () => rms(x(), SHAPE, 1, { weight: f32(4) }), TypeError, /options\.weight is not an option/],
  ['options as a number', 'rmsNorm', () => F.rmsNorm(x(), SHAPE, 1, 5), TypeError, /options must be a plain object/],
  ['eps negative', 'rmsNorm', () => rms(x(), SHAPE, 1, { eps: -1e-5 }), RangeError, /options\.eps must be a finite number >= 0/],
  ['eps NaN', 'rmsNorm', () => rms(x(), SHAPE, 1, { eps: NaN }), RangeError, /options\.eps must be a finite number >= 0/],
  ['eps Infinity', 'rmsNorm', () => rms(x(), SHAPE, 1, { eps: Infinity }), RangeError, /options\.eps must be a finite number >= 0/],
  ['eps as a string', 'rmsNorm', () => rms(x(), SHAPE, 1, { eps: '1e-5' }), TypeError, /options\.eps must be a number/],
  ['out of the wrong length', 'rmsNorm', () => rms(x(), SHAPE, 1, { out: f32(NUMEL - 1) }), RangeError, /options\.out must have .*= 24 elements, got 23/],
  ['out as an Int32Array', 'rmsNorm', () => rms(x(), SHAPE, 1, { out: new Int32Array(NUMEL) }), TypeError, /options\.out must be a Float32Array/],
  ['rstd of length 2 for normalizedRank 1 (6 rows)', 'rmsNorm', () => rms(x(), SHAPE, 1, { rstd: f32(2) }), RangeError, /options\.rstd must have .*= 6 elements, got 2/],
  ['rstd of length 6 for normalizedRank 2 (2 rows)', 'rmsNorm', () => rms(x(), SHAPE, 2, { rstd: f32(6) }), RangeError, /options\.rstd must have .*= 2 elements, got 6/],
  ['rstd as a plain array', 'rmsNorm', () => rms(x(), SHAPE, 1, { rstd: [1, 2, 3, 4, 5, 6] }), TypeError, /options\.rstd must be a Float32Array/],
  ['out partially overlapping x', 'rmsNorm', () => {
    const buf = new Float32Array(30);
    return F.rmsNorm(buf.subarray(0, 24), SHAPE, 1, { out: buf.subarray(1, 25) });
  }, RangeError, /options\.out .*\bx\b/],
  ['rstd sharing memory with x', 'rmsNorm', () => {
    const buf = x();
    return F.rmsNorm(buf, SHAPE, 1, { rstd: buf.subarray(0, 6) });
  }, RangeError, /options\.rstd .*\bx\b/],
  ['out and rstd sharing memory', 'rmsNorm', () => {
    const buf = new Float32Array(28);
    return F.rmsNorm(x(), SHAPE, 1, { out: buf.subarray(0, 24), rstd: buf.subarray(22, 28) });
  }, RangeError, /options\.(out|rstd) and options\.(rstd|out)/],
  ['out overlapping gamma', 'rmsNorm', () => {
    const buf = new Float32Array(24);
    return F.rmsNorm(x(), SHAPE, 1, { out: buf, gamma: buf.subarray(20, 24) });
  }, RangeError, /options\.out .*options\.gamma/],
  ['in place with a bad gamma', 'rmsNorm', () => F.rmsNorm(inPlace, SHAPE, 1, { out: inPlace, gamma: f32(5) }), RangeError, /options\.gamma/],

  ['backward: dy as a plain array', 'rmsNormBackward', () => rmsb(Array.from(x()), x(), SHAPE, 1), TypeError, /\bdy must be a Float32Array/],
  ['backward: x as a Float64Array', 'rmsNormBackward', () => rmsb(x(), new Float64Array(NUMEL), SHAPE, 1), TypeError, /\bx must be a Float32Array/],
  ['backward: dy too short', 'rmsNormBackward', () => rmsb(f32(20), x(), SHAPE, 1), RangeError, /\bdy must have .*= 24 elements, got 20/],
  ['backward: x too long', 'rmsNormBackward', () => rmsb(x(), f32(30), SHAPE, 1), RangeError, /\bx must have .*= 24 elements, got 30/],
  ['backward: normalizedRank above the rank', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 5), RangeError, /normalizedRank/],
  ['backward: normalizedRank as a string', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, '2'), TypeError, /normalizedRank/],
  ['backward: gamma of the wrong length', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { gamma: f32(6) }), RangeError, /options\.gamma must have .*= 4 elements, got 6/],
  ['backward: rstd of the wrong length', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { rstd: f32(5) }), RangeError, /options\.rstd must have .*= 6 elements, got 5/],
  ['backward: rstd as a Float64Array', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { rstd: new Float64Array(6) }), TypeError, /options\.rstd must be a Float32Array/],
  ['backward: eps negative', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { eps: -1 }), RangeError, /options\.eps must be a finite number >= 0/],
  ['backward: eps a boolean', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { eps: true }), TypeError, /options\.eps must be a number/],
  ['backward: dx of the wrong length', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { dx: f32(NUMEL - 1) }), RangeError, /options\.dx must have .*= 24 elements, got 23/],
  ['backward: dgamma of length C (not the row length 4)', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { dgamma: f32(3) }), RangeError, /options\.dgamma must have .*= 4 elements, got 3/],
  ['backward: dgamma of length 4 for normalizedRank 2', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 2, { dgamma: f32(4) }), RangeError, /options\.dgamma must have .*= 12 elements, got 4/],
  ['backward: dgamma as a Float64Array', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { dgamma: new Float64Array(4) }), TypeError, /options\.dgamma must be a Float32Array/],
  ['backward: out (the backward writes dx)', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { out: f32(NUMEL) }), TypeError, /options\.out is not an option/],
  ['backward: dbeta (RMS norm has no shift)', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { dbeta: f32(4) }), TypeError, /options\.dbeta is not an option/],
  ['backward: mean (RMS norm has no mean)', 'rmsNormBackward', () => rmsb(x(), x(), SHAPE, 1, { mean: f32(6) }), TypeError, /options\.mean is not an option/],
  ['backward: dx partially overlapping dy', 'rmsNormBackward', () => {
    const buf = new Float32Array(30);
    return F.rmsNormBackward(buf.subarray(0, 24), x(), SHAPE, 1, { dx: buf.subarray(2, 26) });
  }, RangeError, /options\.dx .*\bdy\b/],
  ['backward: dx partially overlapping x', 'rmsNormBackward', () => {
    const buf = new Float32Array(30);
    return F.rmsNormBackward(x(), buf.subarray(0, 24), SHAPE, 1, { dx: buf.subarray(3, 27) });
  }, RangeError, /options\.dx .*\bx\b/],
  ['backward: dgamma inside x', 'rmsNormBackward', () => {
    const xx = x();
    return F.rmsNormBackward(x(), xx, SHAPE, 1, { dgamma: xx.subarray(0, 4) });
  }, RangeError, /options\.dgamma .*\bx\b/],
  ['backward: dgamma inside gamma', 'rmsNormBackward', () => {
    const buf = new Float32Array(6);
    return F.rmsNormBackward(x(), x(), SHAPE, 1, { gamma: buf.subarray(0, 4), dgamma: buf.subarray(2, 6) });
  }, RangeError, /options\.dgamma .*options\.gamma/],
  ['backward: dx overlapping the saved rstd', 'rmsNormBackward', () => {
    const buf = new Float32Array(24);
    return F.rmsNormBackward(x(), x(), SHAPE, 1, { dx: buf, rstd: buf.subarray(0, 6) });
  }, RangeError, /options\.dx .*options\.rstd/],
  ['backward: dx and dgamma sharing memory', 'rmsNormBackward', () => {
    const buf = new Float32Array(26);
    return F.rmsNormBackward(x(), x(), SHAPE, 1, { dx: buf.subarray(0, 24), dgamma: buf.subarray(22, 26) });
  }, RangeError, /options\.(dx|dgamma) and options\.(dgamma|dx)/],
  ['backward: dx = dy with a bad dgamma', 'rmsNormBackward', () => F.rmsNormBackward(inPlace, x(), SHAPE, 1, { dx: inPlace, dgamma: f32(2) }), RangeError, /options\.dgamma/],
];

/** Calls like the cases with every argument right: they must not throw. */
export const valid: (() => unknown)[] = [
  () => F.rmsNorm(x(), SHAPE, 1),
  () => F.rmsNorm(x(), SHAPE, 1, undefined),
  () => F.rmsNorm(x(), SHAPE, 1, { gamma: undefined, eps: undefined }),
  () => F.rmsNorm(x(), SHAPE, 1, { gamma: f32(4), eps: 0, out: f32(NUMEL), rstd: f32(6) }),
  () => F.rmsNorm(x(), SHAPE, 2, { gamma: f32(12), rstd: f32(2) }),
  () => F.rmsNorm(x(), SHAPE, 3, { gamma: f32(NUMEL), rstd: f32(1) }),
  () => F.rmsNorm(x(), [NUMEL], 1, { gamma: f32(NUMEL) }),
  () => { const b = x(); return F.rmsNorm(b, SHAPE, 1, { out: b }); },
  () => F.rmsNormBackward(x(), x(), SHAPE, 1),
  () => F.rmsNormBackward(x(), x(), SHAPE, 1, { gamma: f32(4), rstd: f32(6, 0.5), eps: 0, dx: f32(NUMEL), dgamma: f32(4) }),
  () => F.rmsNormBackward(x(), x(), SHAPE, 2, { gamma: f32(12), rstd: f32(2) }),
  () => { const b = x(); return F.rmsNormBackward(b, x(), SHAPE, 1, { dx: b }); },
  () => { const b = x(); return F.rmsNormBackward(x(), b, SHAPE, 1, { dx: b }); },
];
