/**
 * Float64 arithmetic between the statistics passes and the apply passes of
 * the composed operations: merging partial statistics (Chan et al.), and
 * folding statistics and affine parameters into the per-run coefficients
 * the apply kernels take. Mirrors native/ops/group_norm.cc, which does the
 * same for the fused channels-first path.
 */

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

export const rstdOf = (m2: number, count: number, eps: number): number => 1 / Math.sqrt(m2 / count + eps);

/** Per-run joint statistics of x and dy (all runs have the same count). */
export interface CoStats {
  count: number;
  meanX: Float64Array;
  meanDy: Float64Array;
  m2X: Float64Array;
  cXDy: Float64Array;
}

/** Coefficients of y = (x - sub) * scale + shift, per run. */
export interface AffineCoeffs {
  sub: Float32Array;
  scale: Float32Array;
  shift: Float32Array;
}

export const affineCoeffs = (n: number): AffineCoeffs => ({
  sub: new Float32Array(n), scale: new Float32Array(n), shift: new Float32Array(n),
});

/** Coefficients of dx = a (dy - dySub) + b (x - xSub) + c, per run. */
export interface GradCoeffs {
  dySub: Float32Array;
  xSub: Float32Array;
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
}

export const gradCoeffs = (n: number): GradCoeffs => ({
  dySub: new Float32Array(n), xSub: new Float32Array(n),
  a: new Float32Array(n), b: new Float32Array(n), c: new Float32Array(n),
});

/**
 * Run i's y = g*xhat + b + blend*x, xhat = (x - mean) * rstd, written as
 * (x - hi) * scale + shift with the mean split into hi + lo (x - hi is
 * exact near the mean; lo goes into the shift). A constant run (m2 = 0) has
 * xhat = 0 for every eps.
 */
export function setAffine(
  out: AffineCoeffs, i: number, mean: number, rstd: number, constant: boolean,
  g: number, b: number, blend: number,
): void {
  const hi = Math.fround(mean);
  out.sub[i] = hi;
  if (constant) {
    out.scale[i] = blend;
    out.shift[i] = b + blend * hi;
    return;
  }
  const scale = g * rstd + blend;
  out.scale[i] = scale;
  out.shift[i] = b + blend * mean - (mean - hi) * scale;
}

/**
 * Gradient coefficients for groups of `cpg` consecutive runs (one group's
 * runs share its mean and rstd), as native group_grads(): with
 * xhat = (x - mu) r, dxhat = g dy,
 *   dx = (r g_j + blend) dy - r P - r^2 Q (x - mu),
 * P = mean(g dy), Q = mean(g dy xhat) over the group. Each run's
 * sum((x - mu) dy) is its centred co-moment plus a correction for its own
 * mean's offset, so nothing cancels catastrophically.
 * `gamma(i)` gives run i's gamma; `savedRstd` (per group) replaces the
 * recomputed rstd when given. Returns per-run shares of dgamma and dbeta.
 */
export function groupGrads(
  s: CoStats, runs: number, cpg: number, gamma: (i: number) => number,
  savedRstd: Float32Array | null, eps: number, blend: number, out: GradCoeffs,
): { dgamma: Float64Array; dbeta: Float64Array } {
  const dgamma = new Float64Array(runs);
  const dbeta = new Float64Array(runs);
  const acc = new Float64Array(3);
  for (let u0 = 0, grp = 0; u0 < runs; u0 += cpg, grp++) {
    acc.fill(0);
    for (let j = u0; j < u0 + cpg; j++) mergeInto(acc, s.count, s.meanX[j], s.m2X[j]);
    const cnt = acc[0];
    const mu = acc[1];
    const m2 = acc[2];
    const r = savedRstd ? savedRstd[grp] : rstdOf(m2, cnt, eps);
    const hi = Math.fround(mu);
    const lo = mu - hi;
    let p = 0;
    let q = 0;
    for (let j = u0; j < u0 + cpg; j++) {
      const sumDy = s.count * s.meanDy[j];
      const sumXcDy = s.cXDy[j] + s.count * (s.meanX[j] - mu) * s.meanDy[j];
      const g = gamma(j);
      p += g * s.meanDy[j] * (s.count / cnt);
      q += g * sumXcDy;
      dgamma[j] = r * sumXcDy;
      dbeta[j] = sumDy;
    }
    const b = (-r * r * r * q) / cnt;
    const undefinedXhat = !Number.isFinite(r) && !Number.isNaN(r); // constant group, eps = 0
    for (let j = u0; j < u0 + cpg; j++) {
      const dySub = Math.fround(s.meanDy[j]);
      out.dySub[j] = dySub;
      out.xSub[j] = hi;
      if (undefinedXhat) {
        out.a[j] = blend;
        out.b[j] = 0;
        out.c[j] = blend * dySub;
        dgamma[j] = 0;
        continue;
      }
      const a = r * gamma(j) + blend;
      out.a[j] = a;
      out.b[j] = b;
      // g dySub - P before scaling by r: exactly 0 for a one-element group.
      out.c[j] = r * (gamma(j) * dySub - p) + blend * dySub - b * lo;
    }
  }
  return { dgamma, dbeta };
}
