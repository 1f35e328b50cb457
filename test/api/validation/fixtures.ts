/**
 * What the validation case tables share: the case type, the output buffers
 * a rejected call must leave alone (every table registers its own with
 * guard(); the harness refills them all before each case and checks them all
 * after), and the standard arguments: x of shape [N, C, M] = [2, 6, 4].
 */
import { F } from '../../helpers/backend-under-test';

export { F };

/** [name, function called, its error class ('either': TypeError or RangeError), a message pattern]. */
export type Case = [name: string, fn: string, call: () => unknown, error: typeof TypeError | typeof RangeError | 'either', message: RegExp];

export const SENTINEL = 42.5;
export const f32 = (n: number, fill = 1) => new Float32Array(n).fill(fill);

const sentinels: Float32Array[] = [];
/** An output buffer of n floats that must keep the SENTINEL value through every rejected call. */
export function guard(n: number): Float32Array {
  const a = f32(n, SENTINEL);
  sentinels.push(a);
  return a;
}
export const refill = () => { for (const a of sentinels) a.fill(SENTINEL); };
export const untouched = () => sentinels.every((a) => a.every((v) => v === SENTINEL));

export const N = 2;
export const C = 6;
export const M = 4;
export const SHAPE = [N, C, M];
export const NHWC = [N, M, C];
export const NUMEL = N * C * M;
export const x = () => Float32Array.from({ length: NUMEL }, (_, i) => Math.sin(i) * (1 + (i % 5)));

// Outputs shared by the tables on the standard shape.
export const out = guard(NUMEL);
export const dx = guard(NUMEL);
export const dgamma = guard(C);
export const dbeta = guard(C);
export const meanNC = guard(N * C);
export const rstdNC = guard(N * C);
export const meanC = guard(C);
export const rstdC = guard(C);
