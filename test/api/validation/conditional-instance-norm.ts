// Bad arguments of conditionalInstanceNorm and its backward: each case names the call,
// the error class and a pattern its message must match (../validation.test.ts
// runs them and checks that nothing was written).
import { expect } from 'vitest';
import { C, type Case, dx, F, f32, guard, M, meanC, meanNC, out, rstdNC, SENTINEL, SHAPE, x } from './fixtures';

const dgammaT = guard(3 * C);
const dbetaT = guard(3 * C);
const K = 3;
const gT = () => Float32Array.from({ length: K * C }, (_, i) => 1 + i / 10);
const bT = () => Float32Array.from({ length: K * C }, (_, i) => -i / 10);
const cin = (cond: unknown, g: unknown = gT(), b: unknown = bT(), opts?: object) =>
  F.conditionalInstanceNorm(x(), SHAPE, cond, g, b, { out, mean: meanNC, rstd: rstdNC, ...opts });
const cinb = (cond: unknown, opts?: object) =>
  F.conditionalInstanceNormBackward(x(), x(), SHAPE, cond, gT(), bT(), { dx, dgammaTable: dgammaT, dbetaTable: dbetaT, ...opts });

export const cases: Case[] = [
  ['condition as a Float32Array', 'conditionalInstanceNorm', () => cin(Float32Array.of(0, 1)), TypeError, /condition/],
  ['condition as a plain array', 'conditionalInstanceNorm', () => cin([0, 1]), TypeError, /condition/],
  ['condition as an Int16Array', 'conditionalInstanceNorm', () => cin(Int16Array.of(0, 1)), TypeError, /condition/],
  ['condition missing', 'conditionalInstanceNorm', () => cin(undefined), TypeError, /condition/],
  ['condition of length N + 1', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1, 2)), RangeError, /condition/],
  ['condition of length 1', 'conditionalInstanceNorm', () => cin(Int32Array.of(0)), RangeError, /condition/],
  ['condition[1] = K', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, K)), RangeError, /condition\[1\]/],
  ['condition[0] negative', 'conditionalInstanceNorm', () => cin(Int32Array.of(-1, 0)), RangeError, /condition\[0\]/],
  ['condition[1] = 2^32 - 1 (Uint32Array)', 'conditionalInstanceNorm', () => cin(Uint32Array.of(2, 0xffffffff)), RangeError, /condition\[1\]/],
  ['gammaTable not a multiple of C', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1), f32(K * C - 1), f32(K * C - 1)), RangeError, /gammaTable/],
  ['gammaTable and betaTable of length 0', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 0), f32(0), f32(0)), RangeError, /gammaTable|betaTable/],
  ['betaTable not a multiple of C', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1), gT(), f32(K * C + 1)), RangeError, /betaTable/],
  ['gammaTable and betaTable of different lengths', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1), gT(), f32(2 * C)), RangeError, /betaTable|gammaTable/],
  ['gammaTable as a Float64Array', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1), new Float64Array(K * C), bT()), TypeError, /gammaTable/],
  ['betaTable as an array', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1), gT(), new Array(K * C).fill(0)), TypeError, /betaTable/],
  ['mean of length C', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1), gT(), bT(), { mean: meanC }), RangeError, /options\.mean/],
  ['layout misspelt', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1), gT(), bT(), { layout: 'NHCW' }), RangeError, /layout/],
  ['an unknown option (gamma: the tables are arguments)', 'conditionalInstanceNorm', () => cin(Int32Array.of(0, 1), gT(), bT(), { gamma: f32(C) }), TypeError, /options\.gamma/],
  ['backward: condition out of range', 'conditionalInstanceNormBackward', () => cinb(Int32Array.of(5, 0)), RangeError, /condition\[0\]/],
  ['backward: condition as a Float64Array', 'conditionalInstanceNormBackward', () => cinb(Float64Array.of(0, 1)), TypeError, /condition/],
  ['backward: dgammaTable of length C', 'conditionalInstanceNormBackward', () => cinb(Int32Array.of(0, 1), { dgammaTable: f32(C) }), RangeError, /dgammaTable/],
  ['backward: dbetaTable as a Float64Array', 'conditionalInstanceNormBackward', () => cinb(Int32Array.of(0, 1), { dbetaTable: new Float64Array(K * C) }), TypeError, /dbetaTable/],
  ['backward: an unknown option', 'conditionalInstanceNormBackward', () => cinb(Int32Array.of(0, 1), { dgamma: f32(C) }), TypeError, /options\.dgamma/],
];

/** Calls like the cases with every argument right: they must not throw. */
export const valid: (() => unknown)[] = [
  () => F.conditionalInstanceNorm(x(), SHAPE, Int32Array.of(0, K - 1), gT(), bT()),
  () => F.conditionalInstanceNorm(x(), SHAPE, Uint32Array.of(2, 2), gT(), bT()),
  () => F.conditionalInstanceNormBackward(x(), x(), SHAPE, Int32Array.of(0, 1), gT(), bT()),
];

/** Further checks, run as tests of their own. */
export const extra: Record<string, () => void> = {
  'a condition out of range writes nothing, even when the bad entry is the last one': () => {
    const o = f32(4 * C * M, SENTINEL);
    const xx = Float32Array.from({ length: 4 * C * M }, (_, i) => Math.sin(i));
    expect(() => F.conditionalInstanceNorm(xx, [4, C, M], Int32Array.of(0, 1, 2, 3), gT(), bT(), { out: o })).toThrow(/condition\[3\]/);
    expect(o.every((v) => v === SENTINEL)).toBe(true);
  },
};
