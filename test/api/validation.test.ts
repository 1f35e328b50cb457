// Every bad argument gets a TypeError (wrong type) or RangeError (wrong size
// or value) naming the argument, before anything is written. Runs on the
// default backend (native here); the checks live in the facade, shared by
// both backends.
import { describe, expect, it } from 'vitest';
import { lib } from '../helpers/backend-under-test';

const SHAPE = [2, 3, 4];
const NUMEL = 24;
const SENTINEL = 42.5;
const f32 = (n: number, fill = 1) => new Float32Array(n).fill(fill);
const x = () => Float32Array.from({ length: NUMEL }, (_, i) => Math.sin(i));

type Case = [name: string, call: () => unknown, error: typeof TypeError | typeof RangeError, message: RegExp];

// Output buffers that must stay untouched by a rejected call.
const out = f32(NUMEL, SENTINEL);
const mean = f32(6, SENTINEL);
const rstd = f32(6, SENTINEL);
const dx = f32(NUMEL, SENTINEL);
const dgamma = f32(3, SENTINEL);
const dbeta = f32(3, SENTINEL);
const untouched = () => [out, mean, rstd, dx, dgamma, dbeta].every((a) => a.every((v) => v === SENTINEL));

const fwd = (xx: unknown, shape: unknown, opts?: unknown) =>
  lib.instanceNorm(xx as Float32Array, shape as number[], { out, mean, rstd, ...(opts as object) });
const bwd = (dy: unknown, xx: unknown, shape: unknown, opts?: unknown) =>
  lib.instanceNormBackward(dy as Float32Array, xx as Float32Array, shape as number[], { dx, dgamma, dbeta, ...(opts as object) });

const forwardCases: Case[] = [
  ['x as a plain array', () => fwd(Array.from(x()), SHAPE), TypeError, /^x must be a Float32Array, got an Array/],
  ['x as a Float64Array', () => fwd(new Float64Array(NUMEL), SHAPE), TypeError, /^x must be a Float32Array, got a Float64Array/],
  ['x as an Int32Array', () => fwd(new Int32Array(NUMEL), SHAPE), TypeError, /^x must be a Float32Array, got an Int32Array/],
  ['x as null', () => fwd(null, SHAPE), TypeError, /^x must be a Float32Array, got null/],
  ['x too short', () => fwd(f32(23), SHAPE), RangeError, /^x must have the product of shape = 24 elements, got 23/],
  ['x too long', () => fwd(f32(25), SHAPE), RangeError, /^x must have .* = 24 elements, got 25/],
  ['shape not an array', () => fwd(x(), 24), TypeError, /^shape must be an array/],
  ['shape as a typed array', () => fwd(x(), Int32Array.of(2, 3, 4)), TypeError, /^shape must be an array/],
  ['shape of rank 2', () => fwd(x(), [6, 4]), RangeError, /^shape must have rank >= 3/],
  ['shape of rank 0', () => fwd(x(), []), RangeError, /^shape must have rank >= 3/],
  ['shape with a zero', () => fwd(x(), [2, 0, 4]), RangeError, /^shape\[1\] must be a positive safe integer, got 0/],
  ['shape with a negative', () => fwd(x(), [2, 3, -4]), RangeError, /^shape\[2\] must be a positive safe integer, got -4/],
  ['shape with a fraction', () => fwd(x(), [2, 3, 4.5]), RangeError, /^shape\[2\] must be a positive safe integer, got 4.5/],
  ['shape with NaN', () => fwd(x(), [2, NaN, 4]), RangeError, /^shape\[1\] must be a positive safe integer, got NaN/],
  ['shape with Infinity', () => fwd(x(), [2, 3, Infinity]), RangeError, /^shape\[2\] must be a positive safe integer/],
  ['shape with a string', () => fwd(x(), [2, '3', 4]), TypeError, /^shape\[1\] must be a number, got the string "3"/],
  ['shape with a bigint', () => fwd(x(), [2n, 3, 4]), TypeError, /^shape\[0\] must be a number, got a bigint/],
  ['shape whose product overflows', () => fwd(x(), [2 ** 30, 2 ** 30, 2 ** 30]), RangeError, /more elements than Number.MAX_SAFE_INTEGER/],
  ['a huge shape that does not match x', () => fwd(x(), [2 ** 20, 2 ** 20, 8]), RangeError, /^x must have/],
  ['options as a number', () => lib.instanceNorm(x(), SHAPE, 5 as never), TypeError, /options must be a plain object, got the number 5/],
  ['options as a Map', () => lib.instanceNorm(x(), SHAPE, new Map([['eps', 1]]) as never), TypeError, /options must be a plain object/],
  ['an unknown option', () => fwd(x(), SHAPE, { gama: f32(3) }), TypeError, /options.gama is not an option/],
  ['gamma as an array', () => fwd(x(), SHAPE, { gamma: [1, 1, 1] }), TypeError, /^options.gamma must be a Float32Array/],
  ['gamma of the wrong length', () => fwd(x(), SHAPE, { gamma: f32(4) }), RangeError, /^options.gamma must have C = 3 \(per channel\) or N\*C = 6 \(per sample\) elements, got 4/],
  ['beta as a Float64Array', () => fwd(x(), SHAPE, { beta: new Float64Array(3) }), TypeError, /^options.beta must be a Float32Array/],
  ['beta of the wrong length', () => fwd(x(), SHAPE, { beta: f32(2) }), RangeError, /^options.beta must have C = 3 \(per channel\) or N\*C = 6/],
  ['eps negative', () => fwd(x(), SHAPE, { eps: -1e-5 }), RangeError, /^options.eps must be a finite number >= 0, got -0.00001/],
  ['eps NaN', () => fwd(x(), SHAPE, { eps: NaN }), RangeError, /^options.eps must be a finite number >= 0, got NaN/],
  ['eps Infinity', () => fwd(x(), SHAPE, { eps: Infinity }), RangeError, /^options.eps must be a finite number >= 0, got Infinity/],
  ['eps as a string', () => fwd(x(), SHAPE, { eps: '1e-5' }), TypeError, /^options.eps must be a number, got the string/],
  ['out of the wrong length', () => lib.instanceNorm(x(), SHAPE, { out: f32(23) }), RangeError, /^options.out must have .* = 24 elements, got 23/],
  ['out as an Int32Array', () => lib.instanceNorm(x(), SHAPE, { out: new Int32Array(24) as never }), TypeError, /^options.out must be a Float32Array/],
  ['mean of the wrong length', () => fwd(x(), SHAPE, { mean: f32(5) }), RangeError, /^options.mean must have N\*C = 6 elements, got 5/],
  ['rstd of the wrong type', () => fwd(x(), SHAPE, { rstd: [1, 2, 3, 4, 5, 6] }), TypeError, /^options.rstd must be a Float32Array/],
  ['out partially overlapping x', () => {
    const buf = new Float32Array(30);
    return lib.instanceNorm(buf.subarray(0, 24), SHAPE, { out: buf.subarray(1, 25) });
  }, RangeError, /options.out partially overlaps x; to work in place pass x itself/],
  ['mean sharing memory with x', () => {
    const buf = new Float32Array(24);
    return lib.instanceNorm(buf, SHAPE, { mean: buf.subarray(0, 6) });
  }, RangeError, /options.mean must not share memory with x/],
  ['mean and rstd sharing memory', () => {
    const buf = new Float32Array(8);
    return lib.instanceNorm(x(), SHAPE, { mean: buf.subarray(0, 6), rstd: buf.subarray(2, 8) });
  }, RangeError, /options.mean and options.rstd must not share memory/],
];

const backwardCases: Case[] = [
  ['dy as a plain array', () => bwd(Array.from(x()), x(), SHAPE), TypeError, /^dy must be a Float32Array, got an Array/],
  ['x as a Float64Array', () => bwd(x(), new Float64Array(NUMEL), SHAPE), TypeError, /^x must be a Float32Array/],
  ['dy too short', () => bwd(f32(20), x(), SHAPE), RangeError, /^dy must have .* = 24 elements, got 20/],
  ['x too long', () => bwd(x(), f32(30), SHAPE), RangeError, /^x must have .* = 24 elements, got 30/],
  ['shape of rank 2', () => bwd(x(), x(), [6, 4]), RangeError, /^shape must have rank >= 3/],
  ['shape with a zero', () => bwd(x(), x(), [0, 3, 4]), RangeError, /^shape\[0\] must be a positive safe integer/],
  ['gamma of the wrong length', () => bwd(x(), x(), SHAPE, { gamma: f32(2) }), RangeError, /^options.gamma must have C = 3/],
  ['mean without rstd', () => bwd(x(), x(), SHAPE, { mean: f32(6) }), TypeError, /options.mean and options.rstd must be given together/],
  ['rstd of the wrong length', () => bwd(x(), x(), SHAPE, { mean: f32(6), rstd: f32(3) }), RangeError, /^options.rstd must have N\*C = 6/],
  ['eps negative', () => bwd(x(), x(), SHAPE, { eps: -1 }), RangeError, /^options.eps must be a finite number >= 0/],
  ['eps a boolean', () => bwd(x(), x(), SHAPE, { eps: true }), TypeError, /^options.eps must be a number, got a boolean/],
  ['dx of the wrong length', () => lib.instanceNormBackward(x(), x(), SHAPE, { dx: f32(23) }), RangeError, /^options.dx must have .* = 24/],
  ['dgamma of the wrong type', () => bwd(x(), x(), SHAPE, { dgamma: new Float64Array(3) }), TypeError, /^options.dgamma must be a Float32Array/],
  ['dbeta of the wrong length', () => bwd(x(), x(), SHAPE, { dbeta: f32(4) }), RangeError, /^options.dbeta must have C = 3/],
  ['an unknown option', () => bwd(x(), x(), SHAPE, { out: f32(24) }), TypeError, /options.out is not an option/],
  ['dx partially overlapping dy', () => {
    const buf = new Float32Array(30);
    return lib.instanceNormBackward(buf.subarray(0, 24), x(), SHAPE, { dx: buf.subarray(2, 26) });
  }, RangeError, /options.dx partially overlaps dy/],
  ['dgamma inside x', () => {
    const xx = x();
    return lib.instanceNormBackward(x(), xx, SHAPE, { dgamma: xx.subarray(0, 3) });
  }, RangeError, /options.dgamma must not share memory with x/],
  ['dgamma and dbeta sharing memory', () => {
    const buf = new Float32Array(4);
    return lib.instanceNormBackward(x(), x(), SHAPE, { dgamma: buf.subarray(0, 3), dbeta: buf.subarray(1, 4) });
  }, RangeError, /options.dgamma and options.dbeta must not share memory/],
];

describe('bad input: a clear error, nothing written', () => {
  it.each(forwardCases)('instanceNorm: %s', (_name, call, error, message) => {
    expect(call).toThrow(error);
    expect(call).toThrow(message);
    expect(untouched()).toBe(true);
  });

  it.each(backwardCases)('instanceNormBackward: %s', (_name, call, error, message) => {
    expect(call).toThrow(error);
    expect(call).toThrow(message);
    expect(untouched()).toBe(true);
  });

  it('the process keeps working after thousands of bad calls', () => {
    for (let i = 0; i < 2000; i++) {
      const [, call] = [...forwardCases, ...backwardCases][i % (forwardCases.length + backwardCases.length)];
      expect(call).toThrow();
    }
    expect(untouched()).toBe(true);
    const y = lib.instanceNorm(x(), SHAPE);
    expect(y.length).toBe(NUMEL);
    expect(Number.isFinite(y[5])).toBe(true);
  });

  it('accepts null/undefined for absent options and an options object with undefined fields', () => {
    expect(lib.instanceNorm(x(), SHAPE, undefined).length).toBe(NUMEL);
    expect(lib.instanceNorm(x(), SHAPE, { gamma: undefined, eps: undefined }).length).toBe(NUMEL);
    expect(lib.instanceNormBackward(x(), x(), SHAPE, { beta: f32(3) }).dgamma.length).toBe(3);
  });

  it('accepts Float32Arrays backed by a SharedArrayBuffer', () => {
    const sx = new Float32Array(new SharedArrayBuffer(NUMEL * 4));
    sx.set(x());
    expect(lib.instanceNorm(sx, SHAPE)).toEqual(lib.instanceNorm(x(), SHAPE));
  });
});

describe('arguments that try to change under the checks', () => {
  it('a Float32Array subclass cannot fake its length', () => {
    class Liar extends Float32Array {
      override get length() { return NUMEL; }
    }
    expect(() => lib.instanceNorm(new Liar(NUMEL - 1), SHAPE)).toThrow(/^x must have .* = 24 elements, got 23/);
    expect(() => lib.instanceNorm(x(), SHAPE, { out: new Liar(NUMEL - 1) })).toThrow(RangeError);
  });

  it('a shape dim is read once (a getter cannot pass the check and then change)', () => {
    let reads = 0;
    const shape = [2, 3, 4];
    Object.defineProperty(shape, 1, { get: () => (reads++ === 0 ? 3 : 1000) });
    const y = lib.instanceNorm(x(), shape as number[]);
    expect(reads).toBe(1);
    expect(y.length).toBe(NUMEL);
  });

  it('options are read once, before the arrays are checked', () => {
    let reads = 0;
    const opts = { get gamma() { reads++; return f32(3, 2); } };
    lib.instanceNorm(x(), SHAPE, opts);
    expect(reads).toBe(1);
  });

  it('inherited enumerable keys (prototype pollution) do not break calls; eps: null is the default', () => {
    (Object.prototype as Record<string, unknown>).polluted = 1;
    try {
      expect(lib.instanceNorm(x(), SHAPE, { eps: null as never })).toEqual(lib.instanceNorm(x(), SHAPE));
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });
});

describe('the native binding re-checks what it is handed', () => {
  it('rejects short buffers and bad dims without touching memory (defence in depth)', async () => {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    type Fn = (...a: unknown[]) => void;
    let addon: Record<'groupNormForward' | 'planeAffine' | 'channelsLastMoments' | 'layerNormForward', Fn> | null = null;
    try {
      addon = req('bindings')({ bindings: 'instnorm.node', module_root: process.cwd(),
        try: [['module_root', 'build-cmake', 'Release', 'bindings'], ['module_root', 'build', 'Release', 'bindings']] });
    } catch {
      addon = null;
    }
    expect(addon, 'the native addon must be built for this suite').not.toBeNull();
    const a = addon!;
    const o = f32(24, SENTINEL);
    // groupNormForward(x, y, N, G, cpg, M, gamma, beta, perSample, blend, eps, mean, rstd)
    const gn = (...args: unknown[]) => () => a.groupNormForward(...args);
    expect(gn(f32(10), o, 2, 3, 1, 4, null, null, false, 0, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 3, 1, 4.5, null, null, false, 0, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), new Float64Array(24), 2, 3, 1, 4, null, null, false, 0, 1e-5, null, null)).toThrow(TypeError);
    expect(gn(x(), o, 2, 3, 1, 4, f32(2), null, false, 0, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 3, 1, 4, f32(3), null, true, 0, 1e-5, null, null)).toThrow(RangeError); // per sample needs N*C
    expect(gn(x(), o, 2 ** 40, 2 ** 40, 1, 2 ** 40, null, null, false, 0, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 3, 1, 4, null, null, false, 0, NaN, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 3, 1, 4, null, null, false, Infinity, 1e-5, null, null)).toThrow(RangeError);
    expect(gn(x(), o, 2, 1, 3, 4, null, null, 'no', 0, 1e-5, null, null)).toThrow(TypeError);
    expect(gn(x(), o)).toThrow(TypeError);
    // planeAffine(x, y, P, L, sub, scale, shift): coefficients must cover every run.
    expect(() => a.planeAffine(x(), o, 6, 4, f32(6), f32(5), f32(6))).toThrow(RangeError);
    expect(() => a.planeAffine(x(), o, 6, 4, f32(6), f32(6), new Float64Array(6))).toThrow(TypeError);
    // channelsLastMoments(x, N, S, C, mean, m2): float64 outputs of N*C.
    expect(() => a.channelsLastMoments(x(), 2, 4, 3, new Float64Array(6), new Float32Array(6))).toThrow(TypeError);
    expect(() => a.channelsLastMoments(x(), 2, 4, 3, new Float64Array(6), new Float64Array(5))).toThrow(RangeError);
    expect(() => a.layerNormForward(x(), o, 4, 7, null, null, 1e-5, null, null)).toThrow(RangeError);
    const xs = x();
    expect(() => a.layerNormForward(xs, o, 4, 6, null, null, 1e-5, null, xs)).toThrow(RangeError); // rstd aliases x
    expect(o.every((v) => v === SENTINEL)).toBe(true);
  });

  it('rejects outputs that share memory with inputs through another buffer object', () => {
    // structuredClone of a SharedArrayBuffer is a second object over the
    // same memory: the facade's identity check cannot see it, the binding's
    // address check does.
    const sab = new SharedArrayBuffer((NUMEL + 1) * 4);
    const xs = new Float32Array(sab, 0, NUMEL);
    xs.set(x());
    const alias = new Float32Array(structuredClone(sab), 4, NUMEL);
    expect(alias.buffer).not.toBe(xs.buffer);
    expect(() => lib.instanceNorm(xs, SHAPE, { out: alias })).toThrow(/out must not share memory with x/);
    expect(() => lib.instanceNormBackward(xs, x(), SHAPE, { dx: alias })).toThrow(/dx must not share memory with dy/);
    // The exact alias (in place) is still allowed.
    const same = new Float32Array(structuredClone(sab), 0, NUMEL);
    expect(() => lib.instanceNorm(xs, SHAPE, { out: same })).not.toThrow();
  });
});
