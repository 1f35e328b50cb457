// Bad arguments of instanceNorm and instanceNormBackward: each case names the
// call, the error class and a pattern its message must match (../validation.test.ts
// runs them and checks that nothing was written). The first tables pin the
// exact messages, on x of shape [2, 3, 4]; the last adds the layouts and
// per-sample affine on the standard [2, 6, 4].
import { C, type Case, dbeta, dgamma, dx, F, f32, guard, M, meanNC, N, NHWC, out, rstdNC, SHAPE, x } from './fixtures';

const SMALL = [2, 3, 4];
const NUMEL = 24;
const xs = () => Float32Array.from({ length: NUMEL }, (_, i) => Math.sin(i));
const sOut = guard(NUMEL);
const sMean = guard(6);
const sRstd = guard(6);
const sDx = guard(NUMEL);
const sDgamma = guard(3);
const sDbeta = guard(3);

const fwd = (xx: unknown, shape: unknown, opts?: unknown) =>
  F.instanceNorm(xx, shape, { out: sOut, mean: sMean, rstd: sRstd, ...(opts as object) });
const bwd = (dy: unknown, xx: unknown, shape: unknown, opts?: unknown) =>
  F.instanceNormBackward(dy, xx, shape, { dx: sDx, dgamma: sDgamma, dbeta: sDbeta, ...(opts as object) });
const inorm = (opts?: object) => F.instanceNorm(x(), SHAPE, { out, mean: meanNC, rstd: rstdNC, ...opts });
const inormb = (opts?: object) => F.instanceNormBackward(x(), x(), SHAPE, { dx, dgamma, dbeta, ...opts });

export const cases: Case[] = [
  ['x as a plain array', 'instanceNorm', () => fwd(Array.from(xs()), SMALL), TypeError, /^x must be a Float32Array, got an Array/],
  ['x as a Float64Array', 'instanceNorm', () => fwd(new Float64Array(NUMEL), SMALL), TypeError, /^x must be a Float32Array, got a Float64Array/],
  ['x as an Int32Array', 'instanceNorm', () => fwd(new Int32Array(NUMEL), SMALL), TypeError, /^x must be a Float32Array, got an Int32Array/],
  ['x as null', 'instanceNorm', () => fwd(null, SMALL), TypeError, /^x must be a Float32Array, got null/],
  ['x too short', 'instanceNorm', () => fwd(f32(23), SMALL), RangeError, /^x must have the product of shape = 24 elements, got 23/],
  ['x too long', 'instanceNorm', () => fwd(f32(25), SMALL), RangeError, /^x must have .* = 24 elements, got 25/],
  ['shape not an array', 'instanceNorm', () => fwd(xs(), 24), TypeError, /^shape must be an array/],
  ['shape as a typed array', 'instanceNorm', () => fwd(xs(), Int32Array.of(2, 3, 4)), TypeError, /^shape must be an array/],
  ['shape of rank 2', 'instanceNorm', () => fwd(xs(), [6, 4]), RangeError, /^shape must have rank >= 3/],
  ['shape of rank 0', 'instanceNorm', () => fwd(xs(), []), RangeError, /^shape must have rank >= 3/],
  ['shape with a zero', 'instanceNorm', () => fwd(xs(), [2, 0, 4]), RangeError, /^shape\[1\] must be a positive safe integer, got 0/],
  ['shape with a negative', 'instanceNorm', () => fwd(xs(), [2, 3, -4]), RangeError, /^shape\[2\] must be a positive safe integer, got -4/],
  ['shape with a fraction', 'instanceNorm', () => fwd(xs(), [2, 3, 4.5]), RangeError, /^shape\[2\] must be a positive safe integer, got 4.5/],
  ['shape with NaN', 'instanceNorm', () => fwd(xs(), [2, NaN, 4]), RangeError, /^shape\[1\] must be a positive safe integer, got NaN/],
  ['shape with Infinity', 'instanceNorm', () => fwd(xs(), [2, 3, Infinity]), RangeError, /^shape\[2\] must be a positive safe integer/],
  ['shape with a string', 'instanceNorm', () => fwd(xs(), [2, '3', 4]), TypeError, /^shape\[1\] must be a number, got the string "3"/],
  ['shape with a bigint', 'instanceNorm', () => fwd(xs(), [2n, 3, 4]), TypeError, /^shape\[0\] must be a number, got a bigint/],
  ['shape whose product overflows', 'instanceNorm', () => fwd(xs(), [2 ** 30, 2 ** 30, 2 ** 30]), RangeError, /more elements than Number.MAX_SAFE_INTEGER/],
  ['a huge shape that does not match x', 'instanceNorm', () => fwd(xs(), [2 ** 20, 2 ** 20, 8]), RangeError, /^x must have/],
  ['options as a number', 'instanceNorm', () => F.instanceNorm(xs(), SMALL, 5 as never), TypeError, /options must be a plain object, got the number 5/],
  ['options as a Map', 'instanceNorm', () => F.instanceNorm(xs(), SMALL, new Map([['eps', 1]]) as never), TypeError, /options must be a plain object/],
  ['an unknown option', 'instanceNorm', () => fwd(xs(), SMALL, { gama: f32(3) }), TypeError, /options.gama is not an option/],
  ['gamma as an array', 'instanceNorm', () => fwd(xs(), SMALL, { gamma: [1, 1, 1] }), TypeError, /^options.gamma must be a Float32Array/],
  ['gamma of the wrong length', 'instanceNorm', () => fwd(xs(), SMALL, { gamma: f32(4) }), RangeError, /^options.gamma must have C = 3 \(per channel\) or N\*C = 6 \(per sample\) elements, got 4/],
  ['beta as a Float64Array', 'instanceNorm', () => fwd(xs(), SMALL, { beta: new Float64Array(3) }), TypeError, /^options.beta must be a Float32Array/],
  ['beta of the wrong length', 'instanceNorm', () => fwd(xs(), SMALL, { beta: f32(2) }), RangeError, /^options.beta must have C = 3 \(per channel\) or N\*C = 6/],
  ['eps negative', 'instanceNorm', () => fwd(xs(), SMALL, { eps: -1e-5 }), RangeError, /^options.eps must be a finite number >= 0, got -0.00001/],
  ['eps NaN', 'instanceNorm', () => fwd(xs(), SMALL, { eps: NaN }), RangeError, /^options.eps must be a finite number >= 0, got NaN/],
  ['eps Infinity', 'instanceNorm', () => fwd(xs(), SMALL, { eps: Infinity }), RangeError, /^options.eps must be a finite number >= 0, got Infinity/],
  ['eps as a string', 'instanceNorm', () => fwd(xs(), SMALL, { eps: '1e-5' }), TypeError, /^options.eps must be a number, got the string/],
  ['out of the wrong length', 'instanceNorm', () => F.instanceNorm(xs(), SMALL, { out: f32(23) }), RangeError, /^options.out must have .* = 24 elements, got 23/],
  ['out as an Int32Array', 'instanceNorm', () => F.instanceNorm(xs(), SMALL, { out: new Int32Array(24) as never }), TypeError, /^options.out must be a Float32Array/],
  ['mean of the wrong length', 'instanceNorm', () => fwd(xs(), SMALL, { mean: f32(5) }), RangeError, /^options.mean must have N\*C = 6 elements, got 5/],
  ['rstd of the wrong type', 'instanceNorm', () => fwd(xs(), SMALL, { rstd: [1, 2, 3, 4, 5, 6] }), TypeError, /^options.rstd must be a Float32Array/],
  ['out partially overlapping x', 'instanceNorm', () => {
    const buf = new Float32Array(30);
    return F.instanceNorm(buf.subarray(0, 24), SMALL, { out: buf.subarray(1, 25) });
  }, RangeError, /options.out partially overlaps x; to work in place pass x itself/],
  ['mean sharing memory with x', 'instanceNorm', () => {
    const buf = new Float32Array(24);
    return F.instanceNorm(buf, SMALL, { mean: buf.subarray(0, 6) });
  }, RangeError, /options.mean must not share memory with x/],
  ['mean and rstd sharing memory', 'instanceNorm', () => {
    const buf = new Float32Array(8);
    return F.instanceNorm(xs(), SMALL, { mean: buf.subarray(0, 6), rstd: buf.subarray(2, 8) });
  }, RangeError, /options.mean and options.rstd must not share memory/],
  ['dy as a plain array', 'instanceNormBackward', () => bwd(Array.from(xs()), xs(), SMALL), TypeError, /^dy must be a Float32Array, got an Array/],
  ['x as a Float64Array', 'instanceNormBackward', () => bwd(xs(), new Float64Array(NUMEL), SMALL), TypeError, /^x must be a Float32Array/],
  ['dy too short', 'instanceNormBackward', () => bwd(f32(20), xs(), SMALL), RangeError, /^dy must have .* = 24 elements, got 20/],
  ['x too long', 'instanceNormBackward', () => bwd(xs(), f32(30), SMALL), RangeError, /^x must have .* = 24 elements, got 30/],
  ['shape of rank 2', 'instanceNormBackward', () => bwd(xs(), xs(), [6, 4]), RangeError, /^shape must have rank >= 3/],
  ['shape with a zero', 'instanceNormBackward', () => bwd(xs(), xs(), [0, 3, 4]), RangeError, /^shape\[0\] must be a positive safe integer/],
  ['gamma of the wrong length', 'instanceNormBackward', () => bwd(xs(), xs(), SMALL, { gamma: f32(2) }), RangeError, /^options.gamma must have C = 3/],
  ['mean without rstd', 'instanceNormBackward', () => bwd(xs(), xs(), SMALL, { mean: f32(6) }), TypeError, /options.mean and options.rstd must be given together/],
  ['rstd of the wrong length', 'instanceNormBackward', () => bwd(xs(), xs(), SMALL, { mean: f32(6), rstd: f32(3) }), RangeError, /^options.rstd must have N\*C = 6/],
  ['eps negative', 'instanceNormBackward', () => bwd(xs(), xs(), SMALL, { eps: -1 }), RangeError, /^options.eps must be a finite number >= 0/],
  ['eps a boolean', 'instanceNormBackward', () => bwd(xs(), xs(), SMALL, { eps: true }), TypeError, /^options.eps must be a number, got a boolean/],
  ['dx of the wrong length', 'instanceNormBackward', () => F.instanceNormBackward(xs(), xs(), SMALL, { dx: f32(23) }), RangeError, /^options.dx must have .* = 24/],
  ['dgamma of the wrong type', 'instanceNormBackward', () => bwd(xs(), xs(), SMALL, { dgamma: new Float64Array(3) }), TypeError, /^options.dgamma must be a Float32Array/],
  ['dbeta of the wrong length', 'instanceNormBackward', () => bwd(xs(), xs(), SMALL, { dbeta: f32(4) }), RangeError, /^options.dbeta must have C = 3/],
  ['an unknown option', 'instanceNormBackward', () => bwd(xs(), xs(), SMALL, { out: f32(24) }), TypeError, /options.out is not an option/],
  ['dx partially overlapping dy', 'instanceNormBackward', () => {
    const buf = new Float32Array(30);
    return F.instanceNormBackward(buf.subarray(0, 24), xs(), SMALL, { dx: buf.subarray(2, 26) });
  }, RangeError, /options.dx partially overlaps dy/],
  ['dgamma inside x', 'instanceNormBackward', () => {
    const xx = xs();
    return F.instanceNormBackward(xs(), xx, SMALL, { dgamma: xx.subarray(0, 3) });
  }, RangeError, /options.dgamma must not share memory with x/],
  ['dgamma and dbeta sharing memory', 'instanceNormBackward', () => {
    const buf = new Float32Array(4);
    return F.instanceNormBackward(xs(), xs(), SMALL, { dgamma: buf.subarray(0, 3), dbeta: buf.subarray(1, 4) });
  }, RangeError, /options.dgamma and options.dbeta must not share memory/],
  ['gamma neither C nor N*C long', 'instanceNorm', () => inorm({ gamma: f32(C + 1) }), RangeError, /options\.gamma/],
  ['beta neither C nor N*C long', 'instanceNorm', () => inorm({ beta: f32(N * C - 1) }), RangeError, /options\.beta/],
  ['layout misspelt', 'instanceNorm', () => inorm({ layout: 'nhwc ' }), RangeError, /layout/],
  ['layout as a boolean', 'instanceNorm', () => inorm({ layout: true }), TypeError, /layout/],
  ['channels-last mean of length N*M', 'instanceNorm', () => F.instanceNorm(x(), NHWC, { layout: 'NHWC', out, mean: f32(N * M) }), RangeError, /options\.mean/],
  ['channels-last gamma of length M (C is the last dim)', 'instanceNorm', () => F.instanceNorm(x(), NHWC, { layout: 'NHWC', out, gamma: f32(M) }), RangeError, /options\.gamma/],
  ['backward: gamma of length 5', 'instanceNormBackward', () => inormb({ gamma: f32(5) }), RangeError, /options\.gamma/],
  ['backward: per-sample gamma with dgamma of length C', 'instanceNormBackward', () => inormb({ gamma: f32(N * C) }), RangeError, /options\.dgamma/],
  ['backward: layout misspelt', 'instanceNormBackward', () => inormb({ layout: 'HWC' }), RangeError, /layout/],
];

/** Calls like the cases with every argument right: they must not throw. */
export const valid: (() => unknown)[] = [
  () => F.instanceNorm(xs(), SMALL, undefined),
  () => F.instanceNorm(xs(), SMALL, { gamma: undefined, eps: undefined }),
  () => F.instanceNormBackward(xs(), xs(), SMALL, { beta: f32(3) }),
  () => F.instanceNorm(x(), SHAPE, { gamma: f32(N * C), beta: f32(N * C), layout: 'NCHW' }),
  () => F.instanceNorm(x(), NHWC, { layout: 'NHWC', gamma: f32(C), mean: f32(N * C) }),
];
