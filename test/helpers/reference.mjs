/**
 * Float64 reference implementation of instance norm, written for clarity
 * (plain two-pass statistics, no shortcuts) and independent of lib/js.
 * It accepts Float32Array or Float64Array inputs so that it can also be
 * checked against finite differences in float64.
 */
/** @typedef {Float32Array | Float64Array} Arr */

/**
 * @param {Arr} x @param {readonly number[]} shape @param {Arr | null} [gamma] @param {Arr | null} [beta]
 * @returns {{ y: Float64Array, mean: Float64Array, rstd: Float64Array }}
 */
export function refForward(x, shape, gamma, beta, eps = 1e-5) {
  const [N, C] = shape;
  const M = shape.slice(2).reduce((a, b) => a * b, 1);
  const y = new Float64Array(N * C * M);
  const mean = new Float64Array(N * C);
  const rstd = new Float64Array(N * C);
  for (let p = 0; p < N * C; p++) {
    const c = p % C;
    let s = 0;
    for (let i = 0; i < M; i++) s += x[p * M + i];
    const mu = s / M;
    let v = 0;
    for (let i = 0; i < M; i++) v += (x[p * M + i] - mu) ** 2;
    v /= M;
    const r = 1 / Math.sqrt(v + eps);
    mean[p] = mu;
    rstd[p] = r;
    const g = gamma ? gamma[c] : 1;
    const b = beta ? beta[c] : 0;
    for (let i = 0; i < M; i++) {
      const xhat = r === Infinity ? 0 : (x[p * M + i] - mu) * r;
      y[p * M + i] = g * xhat + b;
    }
  }
  return { y, mean, rstd };
}

/** The textbook gradient: dx = g*r*(dy - mean(dy) - xhat*mean(dy*xhat)). */
/**
 * @param {Arr} dy @param {Arr} x @param {readonly number[]} shape @param {Arr | null} [gamma]
 * @returns {{ dx: Float64Array, dgamma: Float64Array, dbeta: Float64Array }}
 */
export function refBackward(dy, x, shape, gamma, eps = 1e-5) {
  const [N, C] = shape;
  const M = shape.slice(2).reduce((a, b) => a * b, 1);
  const { mean, rstd } = refForward(x, shape, null, null, eps);
  const dx = new Float64Array(N * C * M);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let p = 0; p < N * C; p++) {
    const c = p % C;
    const g = gamma ? gamma[c] : 1;
    const r = rstd[p];
    let sdy = 0;
    let sdyx = 0;
    for (let i = 0; i < M; i++) {
      const xhat = (x[p * M + i] - mean[p]) * r;
      sdy += dy[p * M + i];
      sdyx += dy[p * M + i] * xhat;
    }
    dgamma[c] += sdyx;
    dbeta[c] += sdy;
    for (let i = 0; i < M; i++) {
      const xhat = (x[p * M + i] - mean[p]) * r;
      dx[p * M + i] = g * r * (dy[p * M + i] - sdy / M - (xhat * sdyx) / M);
    }
  }
  return { dx, dgamma, dbeta };
}

/** Deterministic PRNG (mulberry32) and standard normals (Box-Muller). */
/** @param {number} seed */
export function rng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()),
  };
}

/** Float32Array of offset + scale * N(0, 1). */
/** @returns {Float32Array} */
export function normals(n, seed, offset = 0, scale = 1) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + scale * r.normal();
  return out;
}

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

/** @param {readonly number[]} shape */
export const numel = (shape) => shape.reduce((a, b) => a * b, 1);
