/**
 * Float64 statistics for the pure-TS backend: the corrected two-pass
 * algorithm (pivot on the first-pass mean, then correct both the mean and
 * M2 by the residual sum of deviations), so large offsets cost no
 * precision, and Chan et al.'s merge of partial results. NaN inputs give
 * NaN statistics (the clamp keeps NaN).
 *
 * Runs are addressed as (base, stride, count): element i of the run is
 * x[base + i * stride], which covers both layouts (a channels-first plane
 * has stride 1, a channels-last channel has stride C).
 */

/** Mean and M2 of one run, written to out[0], out[1]. */
export function runMoments(x: ArrayLike<number>, base: number, stride: number, count: number, out: Float64Array): void {
  const end = base + count * stride;
  let s = 0;
  for (let i = base; i < end; i += stride) s += x[i];
  const pivot = s / count;
  let sd = 0;
  let sdd = 0;
  for (let i = base; i < end; i += stride) {
    const d = x[i] - pivot;
    sd += d;
    sdd += d * d;
  }
  const v = sdd - (sd * sd) / count;
  out[0] = pivot + sd / count;
  out[1] = v < 0 ? 0 : v; // (NaN stays NaN)
}

/**
 * acc = [count, mean, M2] merged in place with (cb, mb, qb) (Chan et al.).
 * In place, so loops over thousands of statistics allocate nothing.
 */
export function mergeInto(acc: Float64Array, cb: number, mb: number, qb: number): void {
  const ca = acc[0];
  if (cb === 0) return;
  if (ca === 0) {
    acc[0] = cb;
    acc[1] = mb;
    acc[2] = qb;
    return;
  }
  const n = ca + cb;
  const d = mb - acc[1];
  acc[0] = n;
  acc[1] += d * (cb / n);
  acc[2] += qb + d * d * (ca * cb / n);
}

/** rstd = 1 / sqrt(m2 / count + eps); NaN stays NaN, m2 = 0 with eps = 0 is +Infinity. */
export function rstdOf(m2: number, count: number, eps: number): number {
  return 1 / Math.sqrt(m2 / count + eps);
}

/**
 * A (saved or recomputed) rstd that is infinite: a constant run normalized
 * with eps = 0. Its normalization part contributes no gradient.
 */
export function isInfinite(r: number): boolean {
  return r === Infinity || r === -Infinity;
}

/** Where unit (n, c) of a [N, C, S] or [N, S, C] tensor starts, and its stride. */
export function unitBase(n: number, c: number, C: number, S: number, channelsLast: boolean): number {
  return channelsLast ? n * S * C + c : (n * C + c) * S;
}
