/**
 * Error measures and finite differences shared by the tests, the accuracy
 * report and the benchmark's agreement checks.
 */

/** @param {ArrayLike<number>} a @param {ArrayLike<number>} b */
export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates as NaN
  }
  return m;
}

/** @param {ArrayLike<number>} a */
export function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Forward error: max |y - ref| / (1 + max |ref|) (a few ulps of |y| plus the statistics' error). */
export const fwdErr = (y, ref) => maxAbsDiff(y, ref) / (1 + maxAbs(ref));

/** Backward error: max |g - ref| relative to max |ref|. */
export const relErr = (g, ref) => maxAbsDiff(g, ref) / Math.max(1e-30, maxAbs(ref));

/**
 * Backward error for results that are sums with cancellation: max |g - ref|
 * relative to the larger of max |ref| and `scale`, the size of the terms
 * (the reference backward's `scales`). For random data the two agree; when
 * a sum cancels (a dgamma that happens to be ~0, dx of a 2-element group,
 * dy proportional to x) float32 cannot do better than the terms' size.
 */
export const relErrScaled = (g, ref, scale = 0) => maxAbsDiff(g, ref) / Math.max(1e-30, maxAbs(ref), scale);

/**
 * Central finite differences of a scalar loss with respect to every entry of
 * `arr` (modified in place and restored).
 * @param {Float64Array} arr @param {() => number} loss @param {number} [h]
 */
export function finiteDifferences(arr, loss, h = 1e-6) {
  const g = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const keep = arr[i];
    arr[i] = keep + h;
    const up = loss();
    arr[i] = keep - h;
    const down = loss();
    arr[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** sum(w * y) in float64. @param {ArrayLike<number>} w @param {ArrayLike<number>} y */
export function dot(w, y) {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i] * y[i];
  return s;
}
