// The normalization family (issue 3 API) validates every argument before any
// work: a TypeError for a wrong type or an unknown option key, a RangeError
// for a wrong length or value, with a message naming the argument, and
// nothing written to any output (or running statistic) on error.
import { describe, expect, it } from 'vitest';
import { lib } from '../helpers/backend-under-test';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const F: any = lib;

const N = 2;
const C = 6;
const M = 4;
const SHAPE = [N, C, M];
const NHWC = [N, M, C];
const NUMEL = N * C * M;
const SENTINEL = 42.5;
const f32 = (n: number, fill = 1) => new Float32Array(n).fill(fill);
const x = () => Float32Array.from({ length: NUMEL }, (_, i) => Math.sin(i) * (1 + (i % 5)));

// Output buffers (and running statistics) that a rejected call must leave alone.
const sentinels: Float32Array[] = [];
const guard = (n: number) => {
  const a = f32(n, SENTINEL);
  sentinels.push(a);
  return a;
};
const out = guard(NUMEL);
const meanNC = guard(N * C);
const rstdNC = guard(N * C);
const meanC = guard(C);
const rstdC = guard(C);
const meanG = guard(N * 3);
const rstdG = guard(N * 3);
const dx = guard(NUMEL);
const dgamma = guard(C);
const dbeta = guard(C);
const dgammaT = guard(3 * C);
const dbetaT = guard(3 * C);
const runningMean = guard(C);
const runningVar = guard(C);
const dstyle = guard(C * 3);
const untouched = () => sentinels.every((a) => a.every((v) => v === SENTINEL));

type Case = [name: string, fn: string, call: () => unknown, error: typeof TypeError | typeof RangeError | 'either', message: RegExp];

// ---------------------------------------------------------------------------
const gn = (xx: unknown, shape: unknown, groups: unknown, opts?: object) =>
  F.groupNorm(xx, shape, groups, { out, mean: meanG, rstd: rstdG, ...opts });
const gnb = (groups: unknown, opts?: object) => F.groupNormBackward(x(), x(), SHAPE, groups, { dx, dgamma, dbeta, ...opts });

const groupNormCases: Case[] = [
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

// ---------------------------------------------------------------------------
const inorm = (opts?: object) => F.instanceNorm(x(), SHAPE, { out, mean: meanNC, rstd: rstdNC, ...opts });
const inormb = (opts?: object) => F.instanceNormBackward(x(), x(), SHAPE, { dx, dgamma, dbeta, ...opts });

const instanceNormCases: Case[] = [
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

// ---------------------------------------------------------------------------
const ln = (shape: unknown, k: unknown, opts?: object) => F.layerNorm(x(), shape, k, { out, ...opts });
const lnb = (k: unknown, opts?: object) => F.layerNormBackward(x(), x(), SHAPE, k, { dx, ...opts });

const layerNormCases: Case[] = [
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

// ---------------------------------------------------------------------------
const bn = (opts?: object) => F.batchNorm(x(), SHAPE, { out, mean: meanC, rstd: rstdC, ...opts });
const bnt = (opts?: object) => bn({ training: true, runningMean, runningVar, ...opts });
const bnb = (opts?: object) => F.batchNormBackward(x(), x(), SHAPE, { dx, dgamma, dbeta, ...opts });
const goodStats = () => ({ mean: f32(C, 0), var: f32(C, 1) });

const batchNormCases: Case[] = [
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

// ---------------------------------------------------------------------------
const K = 3;
const gT = () => Float32Array.from({ length: K * C }, (_, i) => 1 + i / 10);
const bT = () => Float32Array.from({ length: K * C }, (_, i) => -i / 10);
const cin = (cond: unknown, g: unknown = gT(), b: unknown = bT(), opts?: object) =>
  F.conditionalInstanceNorm(x(), SHAPE, cond, g, b, { out, mean: meanNC, rstd: rstdNC, ...opts });
const cinb = (cond: unknown, opts?: object) =>
  F.conditionalInstanceNormBackward(x(), x(), SHAPE, cond, gT(), bT(), { dx, dgammaTable: dgammaT, dbetaTable: dbetaT, ...opts });

const cinCases: Case[] = [
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

// ---------------------------------------------------------------------------
const STYLE = [1, C, 3];
const style = () => Float32Array.from({ length: C * 3 }, (_, i) => Math.cos(i) * 2 + 1);
const ada = (s: unknown, sShape: unknown, opts?: object) => F.adaIN(x(), SHAPE, s, sShape, { out, ...opts });
const adab = (opts?: object) => F.adaINBackward(x(), x(), SHAPE, style(), STYLE, { dcontent: dx, dstyle, ...opts });

const adaINCases: Case[] = [
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

// ---------------------------------------------------------------------------
const mom = (opts?: object) => F.moments(x(), SHAPE, opts);
const moments = () => ({ count: new Float64Array(3).fill(4), mean: new Float64Array(3), m2: new Float64Array(3).fill(1) });

const momentsCases: Case[] = [
  ['x as an Int32Array', 'moments', () => F.moments(new Int32Array(NUMEL), SHAPE), TypeError, /\bx\b/],
  ['x not matching shape', 'moments', () => F.moments(f32(NUMEL - 2), SHAPE), RangeError, /\bx\b/],
  ['over an unknown reduction', 'moments', () => mom({ over: 'channel' }), RangeError, /over/],
  ['over as a number', 'moments', () => mom({ over: 1 }), TypeError, /over/],
  ['over group without groups', 'moments', () => mom({ over: 'group' }), 'either', /groups/],
  ['over group with groups not dividing C', 'moments', () => mom({ over: 'group', groups: 4 }), RangeError, /groups/],
  ['layout misspelt', 'moments', () => mom({ layout: 'NCHW_' }), RangeError, /layout/],
  ['an unknown option', 'moments', () => mom({ axis: 1 }), TypeError, /options\.axis/],
  ['mergeMoments of different lengths', 'mergeMoments',
    () => F.mergeMoments(moments(), { count: new Float64Array(4), mean: new Float64Array(4), m2: new Float64Array(4) }), RangeError, /\ba\b.*\bb\b|\bb\b.*\ba\b/],
  ['mergeMoments with count and mean of different lengths', 'mergeMoments',
    () => F.mergeMoments({ ...moments(), count: new Float64Array(2) }, moments()), RangeError, /count|mean/],
  ['mergeMoments with m2 missing', 'mergeMoments', () => F.mergeMoments({ count: new Float64Array(3), mean: new Float64Array(3) }, moments()), TypeError, /m2/],
  ['mergeMoments with null', 'mergeMoments', () => F.mergeMoments(null, moments()), TypeError, /\ba\b/],
  ['mergeMoments with b as a number', 'mergeMoments', () => F.mergeMoments(moments(), 3), TypeError, /\bb\b/],
];

const ALL = [...groupNormCases, ...instanceNormCases, ...layerNormCases, ...batchNormCases, ...cinCases, ...adaINCases, ...momentsCases];

describe('the family\'s bad input: a clear error naming the argument, nothing written', () => {
  it.each(ALL)('%s (%s)', (_name, fn, call, error, message) => {
    for (const a of sentinels) a.fill(SENTINEL); // one failure must not cascade into the next cases
    expect(typeof F[fn], `${fn} is exported`).toBe('function');
    if (error === 'either') {
      let caught: unknown = null;
      try { call(); } catch (e) { caught = e; }
      expect(caught instanceof TypeError || caught instanceof RangeError, String(caught)).toBe(true);
    } else {
      expect(call).toThrow(error);
    }
    expect(call).toThrow(message);
    expect(untouched()).toBe(true);
  });

  it('the baseline calls the cases vary are valid', () => {
    const fresh = () => {
      const o = f32(NUMEL);
      return { out: o };
    };
    expect(() => F.groupNorm(x(), SHAPE, 3, fresh())).not.toThrow();
    expect(() => F.groupNorm(x(), SHAPE, 3, { gamma: f32(N * C), beta: f32(N * C) })).not.toThrow();
    expect(() => F.groupNorm(x(), [N, M, C], 3, { layout: 'NHWC' })).not.toThrow();
    expect(() => F.groupNormBackward(x(), x(), SHAPE, 3, { gamma: f32(N * C), dgamma: f32(N * C) })).not.toThrow();
    expect(() => F.instanceNorm(x(), SHAPE, { gamma: f32(N * C), beta: f32(N * C), layout: 'NCHW' })).not.toThrow();
    expect(() => F.instanceNorm(x(), NHWC, { layout: 'NHWC', gamma: f32(C), mean: f32(N * C) })).not.toThrow();
    expect(() => F.layerNorm(x(), SHAPE, 2, { gamma: f32(NUMEL / N) })).not.toThrow();
    expect(() => F.layerNorm(x(), SHAPE, 3, { gamma: f32(NUMEL) })).not.toThrow();
    expect(() => F.layerNorm(x(), [NUMEL], 1)).not.toThrow();
    expect(() => F.layerNormBackward(x(), x(), SHAPE, 1, { gamma: f32(M) })).not.toThrow();
    expect(() => F.batchNorm(x(), SHAPE, { runningMean: f32(C, 0), runningVar: f32(C, 1) })).not.toThrow();
    expect(() => F.batchNorm(x(), SHAPE, { training: true })).not.toThrow();
    expect(() => F.batchNorm(x(), SHAPE, { training: true, stats: { mean: new Float64Array(C), var: new Float64Array(C).fill(1), count: 100 } })).not.toThrow();
    expect(() => F.batchNorm(x(), SHAPE, { training: true, runningMean: f32(C), runningVar: f32(C), momentum: 0 })).not.toThrow();
    expect(() => F.batchNorm(x(), SHAPE, { training: true, runningMean: f32(C), runningVar: f32(C), momentum: 1 })).not.toThrow();
    expect(() => F.batchNormBackward(x(), x(), SHAPE, { runningMean: f32(C), runningVar: f32(C) })).not.toThrow();
    expect(() => F.conditionalInstanceNorm(x(), SHAPE, Int32Array.of(0, K - 1), gT(), bT())).not.toThrow();
    expect(() => F.conditionalInstanceNorm(x(), SHAPE, Uint32Array.of(2, 2), gT(), bT())).not.toThrow();
    expect(() => F.conditionalInstanceNormBackward(x(), x(), SHAPE, Int32Array.of(0, 1), gT(), bT())).not.toThrow();
    expect(() => F.adaIN(x(), SHAPE, style(), STYLE, { alpha: 0 })).not.toThrow();
    expect(() => F.adaIN(x(), SHAPE, f32(N * C * 3), [N, C, 3], { alpha: 1, unbiased: true })).not.toThrow();
    expect(() => F.adaIN(x(), SHAPE, f32(C), [1, C, 1])).not.toThrow(); // biased: 1-element style planes are fine
    expect(() => F.adaIN(x(), NHWC, style(), [1, 3, C], { layout: 'NHWC' })).not.toThrow();
    expect(() => F.adaINBackward(x(), x(), SHAPE, style(), STYLE, { alpha: 0.5 })).not.toThrow();
    expect(() => F.moments(x(), SHAPE, { over: 'group', groups: 3 })).not.toThrow();
    expect(() => F.moments(x(), NHWC, { over: 'batch', layout: 'NHWC' })).not.toThrow();
    expect(() => F.mergeMoments(moments(), moments())).not.toThrow();
  });

  it('a rejected training call leaves the running statistics alone (checks come before the update)', () => {
    const rm = Float32Array.of(1, 2, 3, 4, 5, 6);
    const rv = Float32Array.of(1, 1, 1, 1, 1, 1);
    const before = [...rm, ...rv];
    expect(() => F.batchNorm(x(), SHAPE, { training: true, runningMean: rm, runningVar: rv, out: f32(NUMEL - 1) })).toThrow(RangeError);
    expect(() => F.batchNorm(x(), SHAPE, { training: true, runningMean: rm, runningVar: rv, gamma: f32(2) })).toThrow(RangeError);
    expect(() => F.batchNorm(x(), SHAPE, { training: true, runningMean: rm, runningVar: rv, layout: 'bad' })).toThrow(RangeError);
    expect([...rm, ...rv]).toEqual(before);
  });

  it('a condition out of range writes nothing, even when the bad entry is the last one', () => {
    const o = f32(4 * C * M, SENTINEL);
    const xx = Float32Array.from({ length: 4 * C * M }, (_, i) => Math.sin(i));
    expect(() => F.conditionalInstanceNorm(xx, [4, C, M], Int32Array.of(0, 1, 2, 3), gT(), bT(), { out: o })).toThrow(/condition\[3\]/);
    expect(o.every((v) => v === SENTINEL)).toBe(true);
  });
});
