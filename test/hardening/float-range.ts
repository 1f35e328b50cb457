/**
 * Data and error measures of finding 5 (the whole float range): tensors
 * [N, C, M] whose statistics sets (planes, groups, channels: whatever the
 * operation normalizes over) have deviations from 1e-30 to 3e38, offsets up
 * to the float maximum, alternating +-3e38 and single values of 3.4e38, and
 * the per-set error of a result against the float64 reference.
 */
import { rng } from '../helpers/data.mjs';

export const N = 2;
export const C = 4;
/** Elements per plane: more than one 1024-element block of the native kernels. */
export const M = 1031;
export const SHAPE = [N, C, M];
export const NUMEL = N * C * M;
export const FLT_MAX = 3.4028234663852886e38;

export const DEVIATIONS = [1e-30, 1e-20, 1e-10, 1, 1e10, 1e18, 1e19, 1e20, 1e25, 1e30, 1e35, 1e38, 3e38];

export interface Kind {
  name: string;
  /** x for the element `i` of set `set` (of `sets`), given u uniform in +-[1e-3, 1]. */
  value: (set: number, sets: number, i: number, u: number) => number;
}

const around = (offset: number, dev: number): Kind['value'] => (_s, _n, _i, u) => offset + dev * u;

export const KINDS: Kind[] = [
  ...DEVIATIONS.map((d) => ({ name: `deviation ${d}`, value: around(0, d) })),
  { name: 'offset 1e20, deviation 1e14', value: around(1e20, 1e14) },
  { name: 'offset 1e30, deviation 1e25', value: around(1e30, 1e25) },
  { name: 'offset 3e38, deviation 1e37', value: around(3e38, 1e37) },
  { name: 'offset -2e38, deviation 1e38', value: around(-2e38, 1e38) },
  { name: 'alternating +-3e38', value: (_s, _n, i) => (i % 2 ? 3e38 : -3e38) },
  { name: 'one value 3.4e38 among values of deviation 1', value: (_s, _n, i, u) => (i === 7 ? 3.4e38 : u) },
  // Every set its own deviation: sets must not contaminate each other.
  { name: 'mixed: set k has deviation DEVIATIONS[k]', value: (s, _n, _i, u) => DEVIATIONS[(s * 5) % DEVIATIONS.length] * u },
];

/** Which set each element of an [N, C, M] tensor (channels-first) belongs to. */
export type SetsOf = 'plane' | 'group2' | 'channel';

export function setIndex(of: SetsOf): { set: Int32Array; S: number } {
  const set = new Int32Array(NUMEL);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const s = of === 'plane' ? n * C + c : of === 'group2' ? n * 2 + Math.floor(c / (C / 2)) : c;
    set.fill(s, (n * C + c) * M, (n * C + c + 1) * M);
  }
  return { set, S: of === 'plane' ? N * C : of === 'group2' ? N * 2 : C };
}

/** x of `kind` (channels-first), set by set. */
export function makeX(kind: Kind, of: SetsOf, seed: number): Float32Array {
  const r = rng(seed);
  const { set, S } = setIndex(of);
  const x = new Float32Array(NUMEL);
  const count = new Int32Array(S);
  for (let e = 0; e < NUMEL; e++) {
    const u = (r.uniform() < 0.5 ? -1 : 1) * (1e-3 + (1 - 1e-3) * r.uniform());
    x[e] = kind.value(set[e], S, count[set[e]]++, u);
  }
  return x;
}

/**
 * dy for x: N(0, 1) times sqrt of each set's spread (standard deviation, or
 * root mean square for RMS norm), so that dx (~ dy / spread) and the
 * parameter gradients (~ dy) both stay well inside the float range.
 */
export function makeDy(x: Float32Array, of: SetsOf, rms: boolean, seed: number): Float32Array {
  const { set, S } = setIndex(of);
  const sum = new Float64Array(S);
  const cnt = new Float64Array(S);
  for (let e = 0; e < NUMEL; e++) {
    sum[set[e]] += x[e];
    cnt[set[e]]++;
  }
  const mean = Float64Array.from(sum, (s, k) => (rms ? 0 : s / cnt[k]));
  const sq = new Float64Array(S);
  for (let e = 0; e < NUMEL; e++) sq[set[e]] += (x[e] - mean[set[e]]) ** 2;
  const scale = Float64Array.from(sq, (q, k) => Math.sqrt(Math.sqrt(q / cnt[k])) || 1);
  const r = rng(seed);
  return Float32Array.from({ length: NUMEL }, (_, e) => scale[set[e]] * r.normal());
}

/** True when a float64 result is not representable in float32 (nothing to test there). */
export const overflows = (ref: ArrayLike<number>) => Array.prototype.some.call(ref, (v: number) => Math.abs(v) > FLT_MAX);

/**
 * max over elements of |got - ref| / (floor + max |ref| over the element's
 * set): a result relative to the size of its own set's values. NaN or
 * Infinity in got gives Infinity.
 */
export function setError(got: ArrayLike<number>, ref: ArrayLike<number>, set: Int32Array, S: number, floor: number): number {
  const size = new Float64Array(S);
  for (let e = 0; e < ref.length; e++) size[set[e]] = Math.max(size[set[e]], Math.abs(ref[e]));
  let worst = 0;
  for (let e = 0; e < ref.length; e++) {
    const err = Math.abs(got[e] - ref[e]) / (floor + size[set[e]]);
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

/**
 * Parameter gradients (sums over elements): |got - ref| / max(|ref|, size
 * of the terms), the terms' size being sqrt(sum of dy^2) over the
 * parameter's elements (|xhat| is O(1)). `param` maps an element to its
 * parameter.
 */
export function paramError(got: ArrayLike<number>, ref: ArrayLike<number>, dy: ArrayLike<number>, param: (e: number) => number): number {
  const sq = new Float64Array(ref.length);
  for (let e = 0; e < dy.length; e++) sq[param(e)] += dy[e] * dy[e];
  let worst = 0;
  for (let j = 0; j < ref.length; j++) {
    const err = Math.abs(got[j] - ref[j]) / Math.max(Math.abs(ref[j]), Math.sqrt(sq[j]), 1e-300);
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

/** Element -> channel, plane position (row ops' affine index), of the [N, C, M] tensor. */
export const channelOf = (e: number) => Math.floor(e / M) % C;
export const positionOf = (e: number) => e % M;
