/**
 * The size of the terms summed into each gradient, for comparing a
 * float32 backend with the float64 one: where a sum cancels (a dx of a
 * 2-element set, a dgamma that happens to be ~0) float32 cannot match
 * relatively, only to a few ulps of the terms (as relErrScaled in
 * test/helpers/metrics.mjs, whose reference computes these exactly; here
 * they are upper bounds from the data, so the checks are a little looser).
 */
export type Layout = 'NCHW' | 'NHWC';

/** Set index of element e: (n, group) of a [N, C, M] tensor in either layout. */
export function planeSets(n: number, c: number, m: number, layout: Layout, groups: number) {
  const per = c / groups;
  return {
    count: n * groups,
    of: (e: number) => {
      const nn = layout === 'NCHW' ? Math.floor(e / (c * m)) : Math.floor(e / (m * c));
      const cc = layout === 'NCHW' ? Math.floor(e / m) % c : e % c;
      return nn * groups + Math.floor(cc / per);
    },
  };
}

/** Channel of element e (batch norm's sets). */
export function channelSets(c: number, m: number, layout: Layout) {
  return { count: c, of: (e: number) => (layout === 'NCHW' ? Math.floor(e / m) % c : e % c) };
}

/** Row of element e (layer and RMS norm). */
export const rowSets = (rows: number, len: number) => ({ count: rows, of: (e: number) => Math.floor(e / len) });

export interface SetStats {
  /** Largest finite 1/sqrt(var + eps) over the sets (0 if none is finite). */
  maxRstd: number;
  /** Largest |xhat|. */
  maxXhat: number;
  /** Largest number of elements in a set. */
  maxCount: number;
}

/**
 * Statistics of each set of x in float64: centred (`var`, ddof 0 or 1) or
 * RMS (`ms`); a set with rstd = Infinity (constant, eps = 0) has xhat = 0.
 */
export function setStats(
  x: ArrayLike<number>, sets: { count: number; of: (e: number) => number }, eps: number, mode: 'var' | 'ms', ddof = 0,
): SetStats {
  const count = new Float64Array(sets.count);
  const sum = new Float64Array(sets.count);
  for (let e = 0; e < x.length; e++) {
    const s = sets.of(e);
    count[s]++;
    sum[s] += x[e];
  }
  const mean = mode === 'var' ? sum.map((v, s) => v / count[s]) : new Float64Array(sets.count);
  const m2 = new Float64Array(sets.count);
  for (let e = 0; e < x.length; e++) m2[sets.of(e)] += (x[e] - mean[sets.of(e)]) ** 2;
  const rstd = m2.map((v, s) => 1 / Math.sqrt(v / Math.max(1, count[s] - ddof) + eps));
  let maxRstd = 0;
  let maxXhat = 0;
  for (let s = 0; s < sets.count; s++) if (Number.isFinite(rstd[s])) maxRstd = Math.max(maxRstd, rstd[s]);
  for (let e = 0; e < x.length; e++) {
    const r = rstd[sets.of(e)];
    if (Number.isFinite(r)) maxXhat = Math.max(maxXhat, Math.abs(x[e] - mean[sets.of(e)]) * r);
  }
  return { maxRstd, maxXhat, maxCount: maxAbsOf(count, 0) };
}

export function maxAbsOf(a: ArrayLike<number> | null | undefined, absent = 1): number {
  if (!a) return absent;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * dx = r * (g*dy - mean(g*dy) - xhat * mean(g*dy*xhat)): terms of size
 * r * |g * dy| (times |xhat|^2 for the last one).
 */
export const dxScale = (st: SetStats, maxDy: number, maxGamma: number) =>
  st.maxRstd * maxDy * maxGamma * Math.max(1, st.maxXhat * st.maxXhat);

/** dgamma / dbeta: sums of dy * xhat (or dy) over `perParam` elements: sqrt of the sum of squared terms, bounded. */
export const sumScale = (perParam: number, maxDy: number, maxXhat = 1) => Math.sqrt(perParam) * maxDy * Math.max(1, maxXhat);
