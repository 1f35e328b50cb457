/**
 * What the ONNX conformance suites share: the agreement measure and bar,
 * the per-op record of the worst agreement seen (printed per backend with
 * CONFORMANCE_REPORT=1), input tensors, and the check that each
 * operation's ...Async variant returns exactly what the sync call does.
 */
import { afterAll, expect } from 'vitest';
import { label } from '../helpers/backend-under-test';
import { normals, rng } from '../helpers/data.mjs';

/**
 * Every output must agree with the float64 value of the ONNX formula to
 * 1e-6 relative to 1 + |expected|, element by element: float32 rounding of
 * the output (<= 6e-8 relative) plus the statistics' error, on data of
 * unit scale.
 */
export const TOL = 1e-6;

/** max over elements of |got - expected| / (1 + |expected|); NaN when either side has a NaN. */
export function agreement(got: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (got.length !== expected.length) throw new Error(`length ${got.length}, expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

const worstByOp = new Map<string, number>();

afterAll(() => {
  if (!process.env.CONFORMANCE_REPORT) return;
  for (const [op, e] of worstByOp) console.log(`[conformance] ${label} ${op}: max error ${e.toExponential(2)}`);
});

/** Asserts agreement within TOL and records it under `op`. */
export function expectAgree(op: string, got: ArrayLike<number>, expected: ArrayLike<number>, ctx: string): void {
  const e = agreement(got, expected);
  worstByOp.set(op, Math.max(worstByOp.get(op) ?? 0, Number.isNaN(e) ? Infinity : e));
  expect(e, `${ctx}: max |got - expected| / (1 + |expected|)`).toBeLessThanOrEqual(TOL);
}

/** A float32 tensor of `n` values offset + scale * N(0, 1), deterministic in `seed`. */
export const tensor = (n: number, seed: number, offset = 0, scale = 1): Float32Array => normals(n, seed, offset, scale);

/** A float32 tensor of `n` values uniform in [lo, hi) (variances must be positive). */
export function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r.uniform());
}

/**
 * Runs `run(false)` (the sync call) and `run(true)` (its ...Async variant),
 * each on fresh arguments, and asserts that every output array is bitwise
 * the same; returns the sync outputs.
 */
export async function syncAndAsync<T extends Record<string, Float32Array>>(
  ctx: string, run: (isAsync: boolean) => T | Promise<T>,
): Promise<T> {
  const s = await run(false);
  const a = await run(true);
  for (const k of Object.keys(s)) {
    expect(Array.from(a[k]), `${ctx}: ${k} of the Async variant`).toEqual(Array.from(s[k]));
  }
  return s;
}
