/**
 * What the per-operation suites (test/ops/) share: the layouts, the parity
 * grid and data kinds, and the assertions that compare a library result with
 * the float64 reference.
 */
import { expect } from 'vitest';
import { normals } from './data.mjs';
import { maxAbs, maxAbsDiff, relErrScaled } from './metrics.mjs';
import { PLANE_SIZES, spatialShapes } from './shapes';

export type Layout = 'NCHW' | 'NHWC';
export const LAYOUTS: Layout[] = ['NCHW', 'NHWC'];
/** The options that select `layout` (NCHW is the default and passes nothing). */
export const lo = (layout: Layout) => (layout === 'NHWC' ? { layout } : {});

/**
 * max |y - ref| / (1 + max |ref|) for outputs (a few ulps of |y| plus the
 * statistics' error; 1e-4 absolute is the accuracy bar), and max |g - ref|
 * relative to max |ref| (or to the terms' size) for gradients. Measured
 * worst cases are ~10x below on every ISA (see README, Numerics).
 */
export const TOL = 1e-5;

/** Every plane size of the parity grids, in spatial ranks 1-3: [m, spatial]. */
export const GRID = PLANE_SIZES.flatMap((m) => spatialShapes(m).map((sp) => [m, sp] as const));
export const KINDS = ['normal', 'offset', 'tiny', 'constant planes', 'mixed'] as const;
export const NHWC_CHANNELS = [1, 3, 8, 17, 64];
/** 294912 elements: above the 256Ki threading threshold. */
export const LARGE = [2, 64, 48, 48];

/** gamma/beta of length `len` (C per channel, N*C per sample). */
export const params = (len: number, seed: number) => ({ gamma: normals(len, seed, 1, 0.5), beta: normals(len, seed + 1, 0, 1) });

/** Saved statistics: mean to 1e-6 of its magnitude (plus 1e-6), rstd to 1e-6 relative. */
export function expectStats(mean: Float32Array, rstd: Float32Array, ref: { mean: ArrayLike<number>; rstd: ArrayLike<number> }, ctx: string) {
  expect(maxAbsDiff(mean, ref.mean), `${ctx}: mean`).toBeLessThanOrEqual(1e-6 * (1 + maxAbs(ref.mean)));
  expectRstd(rstd, ref.rstd, ctx);
}

/** rstd to 1e-6 relative, element by element. */
export function expectRstd(rstd: Float32Array, ref: ArrayLike<number>, ctx: string) {
  for (let p = 0; p < rstd.length; p++) {
    expect(Math.abs(rstd[p] / ref[p] - 1), `${ctx}: rstd[${p}] = ${rstd[p]} vs ${ref[p]}`).toBeLessThanOrEqual(1e-6);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RefGrads = Record<string, any> & { scales?: Record<string, number> };

/**
 * Each gradient within TOL of max |reference|, or of the size of the terms
 * summed into it when that is larger (see relErrScaled: a sum that cancels
 * to ~0 cannot be matched relatively in float32). `undo` converts the
 * gradients named in `layoutOf` back to channels-first.
 */
export function expectGrads(
  got: Record<string, Float32Array>, ref: RefGrads, keys: string[], ctx: string,
  layoutOf: string[] = [], undo?: (a: Float32Array) => Float32Array,
) {
  for (const k of keys) {
    expect(got[k], `${ctx}: ${k} missing`).toBeInstanceOf(Float32Array);
    expect(got[k].length, `${ctx}: ${k} length`).toBe(ref[k].length);
    const g = layoutOf.includes(k) && undo ? undo(got[k]) : got[k];
    const scale = ref.scales?.[k] ?? 0;
    if (maxAbs(ref[k]) === 0 && scale === 0) expect(maxAbs(g), `${ctx}: ${k} should be 0`).toBeLessThanOrEqual(1e-6);
    else expect(relErrScaled(g, ref[k], scale), `${ctx}: ${k} (max |ref| ${maxAbs(ref[k])}, term scale ${scale})`).toBeLessThanOrEqual(TOL);
  }
}

/** Sample n of a channels-first or channels-last tensor (both are contiguous per sample). */
export const sample = (y: Float32Array, n: number, per: number) => y.subarray(n * per, (n + 1) * per);

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}
