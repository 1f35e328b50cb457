/**
 * The float64 core every normalization of the pure-TS backend is built
 * from: a "group" is a set of runs (units) that share one mean and rstd:
 * the channels of a sample's group for group/instance norm, the samples of
 * a channel for batch norm. Each unit has its own gamma, beta and gradient
 * shares. Mirrors native/ops/fold.h (the same formulas), but keeps every
 * intermediate in float64 and rounds only the stored results.
 */
import { isInfinite, mergeInto, rstdOf, runMoments } from './stats';

/** The units of one group: their starts, a common stride and length. */
export interface Units {
  bases: Int32Array | number[];
  count: number;
  stride: number;
  len: number;
}

const unitStat = new Float64Array(2);
const acc = new Float64Array(3);

/** The group's mean and M2, merged from its units in order (out[0], out[1]). */
export function groupMoments(x: ArrayLike<number>, u: Units, out: Float64Array): void {
  acc.fill(0);
  for (let j = 0; j < u.count; j++) {
    runMoments(x, u.bases[j], u.stride, u.len, unitStat);
    mergeInto(acc, u.len, unitStat[0], unitStat[1]);
  }
  out[0] = acc[1];
  out[1] = acc[2];
}

/**
 * y = g_j * xhat + b_j + blend * x over every unit j; xhat = (x - mean) * rstd,
 * and 0 for a constant group (m2 = 0) whatever eps is.
 */
export function applyForward(
  x: ArrayLike<number>, y: Float32Array, u: Units, mean: number, rstd: number, constant: boolean,
  gamma: (j: number) => number, beta: (j: number) => number, blend: number,
): void {
  for (let j = 0; j < u.count; j++) {
    const scale = constant ? 0 : gamma(j) * rstd;
    const shift = beta(j);
    const end = u.bases[j] + u.len * u.stride;
    if (blend === 0) {
      for (let i = u.bases[j]; i < end; i += u.stride) y[i] = (x[i] - mean) * scale + shift;
    } else {
      for (let i = u.bases[j]; i < end; i += u.stride) {
        const v = x[i];
        y[i] = (v - mean) * scale + shift + blend * v;
      }
    }
  }
}

// Per unit of the current group: dy pivot (then mean), sum(dy - pivot),
// sum(x - pivot_x), sum((dy - pivot)(x - pivot_x)). Grown on demand.
let pdy = new Float64Array(16);
let sE = new Float64Array(16);
let sD = new Float64Array(16);
let sED = new Float64Array(16);

/**
 * Gradients of a group. With xhat = (x - mu) r and dxhat = g_j dy:
 *   dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) + blend dy,
 * and each unit's shares: dgamma_j = sum dy xhat, dbeta_j = sum dy. r is
 * `savedRstd` when given, else recomputed with eps; mu is always recomputed
 * exactly from x (a saved float32 mean has lost precision that matters at
 * large offsets). An infinite r (a constant group with eps = 0) makes the
 * normalization part of the gradient zero: dx = blend dy, no dgamma share.
 */
export function backwardGroup(
  dy: ArrayLike<number>, x: ArrayLike<number>, dx: Float32Array, u: Units, gamma: (j: number) => number,
  savedRstd: number | null, eps: number, blend: number, shareG: Float64Array, shareB: Float64Array, shareAt: number,
): void {
  const { count: nu, stride, len: M } = u;
  if (pdy.length < nu) {
    pdy = new Float64Array(nu);
    sE = new Float64Array(nu);
    sD = new Float64Array(nu);
    sED = new Float64Array(nu);
  }
  const total = nu * M;
  // Pass 1: pivots.
  let sx = 0;
  for (let j = 0; j < nu; j++) {
    const end = u.bases[j] + M * stride;
    let sdy = 0;
    for (let i = u.bases[j]; i < end; i += stride) {
      sx += x[i];
      sdy += dy[i];
    }
    pdy[j] = sdy / M;
  }
  const px = sx / total;
  // Pass 2: centred sums.
  let sd = 0;
  let sdd = 0;
  for (let j = 0; j < nu; j++) {
    const end = u.bases[j] + M * stride;
    const q = pdy[j];
    let d1 = 0;
    let e1 = 0;
    let ed = 0;
    for (let i = u.bases[j]; i < end; i += stride) {
      const d = x[i] - px;
      const f = dy[i] - q;
      d1 += d;
      sdd += d * d;
      e1 += f;
      ed += f * d;
    }
    sd += d1;
    sD[j] = d1;
    sE[j] = e1;
    sED[j] = ed;
  }
  const delta = sd / total;
  const mu = px + delta;
  const r = savedRstd ?? rstdOf(Math.max(0, sdd - (sd * sd) / total), total, eps);

  if (isInfinite(r)) {
    for (let j = 0; j < nu; j++) {
      const end = u.bases[j] + M * stride;
      for (let i = u.bases[j]; i < end; i += stride) dx[i] = blend * dy[i];
      shareG[shareAt + j] = 0;
      shareB[shareAt + j] = pdy[j] * M + sE[j];
    }
    return;
  }
  // Per unit: mean of dy, and T = sum dy (x - mu) = cov + mdy * sum(x - mu).
  let sumGS = 0;
  let sumGT = 0;
  for (let j = 0; j < nu; j++) {
    const mdy = pdy[j] + sE[j] / M;
    const cov = sED[j] - (sE[j] * sD[j]) / M;
    const T = cov + mdy * (sD[j] - M * delta);
    const g = gamma(j);
    sumGS += g * mdy * M;
    sumGT += g * T;
    shareG[shareAt + j] = r * T;
    shareB[shareAt + j] = mdy * M;
    pdy[j] = mdy; // now the unit's mean of dy
  }
  const P = sumGS / total; // mean(dxhat)
  const kx = (r * r * r * sumGT) / total; // r^2 mean(dxhat xhat), the coefficient of (x - mu)
  for (let j = 0; j < nu; j++) {
    const g = gamma(j);
    const mdy = pdy[j];
    const a = r * g;
    const c0 = r * (g * mdy - P); // 0 exactly when the group is one unit
    const end = u.bases[j] + M * stride;
    if (blend === 0) {
      for (let i = u.bases[j]; i < end; i += stride) dx[i] = a * (dy[i] - mdy) - kx * (x[i] - mu) + c0;
    } else {
      for (let i = u.bases[j]; i < end; i += stride) {
        const v = dy[i];
        dx[i] = a * (v - mdy) - kx * (x[i] - mu) + c0 + blend * v;
      }
    }
  }
}
