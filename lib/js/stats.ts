/**
 * Shared float64 statistics for the pure-TS kernels: the corrected
 * two-pass algorithm (pivot on the first-pass mean, then correct both the
 * mean and M2 by the residual sum of deviations), so large offsets cost no
 * precision. NaN inputs give NaN statistics (the clamp keeps NaN).
 */

/**
 * Mean and M2 (sum of squared deviations) of x[o, o + m), written to
 * mean[k] and m2[k].
 */
export function runMoments(
  x: Float32Array, o: number, m: number, mean: Float64Array, m2: Float64Array, k: number,
): void {
  const end = o + m;
  let s = 0;
  for (let i = o; i < end; i++) s += x[i];
  const pivot = s / m;
  let sd = 0;
  let sdd = 0;
  for (let i = o; i < end; i++) {
    const d = x[i] - pivot;
    sd += d;
    sdd += d * d;
  }
  const v = sdd - (sd * sd) / m;
  mean[k] = pivot + sd / m;
  m2[k] = v < 0 ? 0 : v; // (NaN stays NaN)
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
