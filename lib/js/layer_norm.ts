/**
 * Pure-TS layer norm: R contiguous rows of L, statistics per row,
 * elementwise gamma/beta of length L. float64 throughout; only stored
 * results are rounded to float32.
 */
import type { LayerNormBackwardDesc, LayerNormDesc } from '../descriptors';
import { isInfinite, rstdOf, runMoments } from './stats';

/** y = gamma[i] * xhat + beta[i]; a constant row (M2 = 0) has xhat = 0. */
export function layerNormForward(d: LayerNormDesc): void {
  const { x, out: y, rows: R, len: L, eps } = d;
  const gamma = d.gamma ?? null;
  const beta = d.beta ?? null;
  const st = new Float64Array(2); // statistics of the current row
  for (let row = 0; row < R; row++) {
    const o = row * L;
    runMoments(x, o, 1, L, st);
    const mean = st[0];
    const m2 = st[1];
    const rstd = rstdOf(m2, L, eps);
    if (m2 === 0) {
      for (let i = 0; i < L; i++) y[o + i] = beta ? beta[i] : 0;
    } else if (gamma && beta) {
      for (let i = 0; i < L; i++) y[o + i] = (x[o + i] - mean) * rstd * gamma[i] + beta[i];
    } else {
      for (let i = 0; i < L; i++) {
        y[o + i] = (x[o + i] - mean) * rstd * (gamma ? gamma[i] : 1) + (beta ? beta[i] : 0);
      }
    }
    if (d.mean) d.mean[row] = mean;
    if (d.rstd) d.rstd[row] = rstd;
  }
}

/**
 * Layer-norm gradients: with xhat = (x - mu) r and dxhat = gamma dy,
 *   dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),
 *   dgamma[i] = sum over rows of dy xhat, dbeta[i] = sum of dy.
 * r is the saved rstd[row] when `rstdIn` is given, else recomputed with
 * eps; mu is always recomputed exactly. An infinite r (constant row, eps = 0)
 * gives dx = 0 and no dgamma share.
 */
export function layerNormBackward(d: LayerNormBackwardDesc): void {
  const { dy, x, dx, dgamma, dbeta, rows: R, len: L, eps } = d;
  const gamma = d.gamma ?? null;
  const rstdIn = d.rstd ?? null;
  const accG = new Float64Array(L);
  const accB = new Float64Array(L);
  for (let row = 0; row < R; row++) {
    const o = row * L;
    let sx = 0;
    for (let i = 0; i < L; i++) sx += x[o + i];
    const px = sx / L;
    // sd, sdd: centred moments of x; sg = sum dxhat, sgd = sum dxhat (x - px).
    let sd = 0;
    let sdd = 0;
    let sg = 0;
    let sgd = 0;
    for (let i = 0; i < L; i++) {
      const d = x[o + i] - px;
      const gdy = (gamma ? gamma[i] : 1) * dy[o + i];
      sd += d;
      sdd += d * d;
      sg += gdy;
      sgd += gdy * d;
    }
    const delta = sd / L;
    const mu = px + delta;
    const r = rstdIn ? rstdIn[row] : rstdOf(Math.max(0, sdd - (sd * sd) / L), L, eps);
    if (isInfinite(r)) {
      for (let i = 0; i < L; i++) {
        accB[i] += dy[o + i]; // (before dx, which may be dy)
        dx[o + i] = 0;
      }
      continue;
    }
    const P = sg / L; // mean(dxhat)
    const kx = (r * r * r * (sgd - delta * sg)) / L; // r^2 mean(dxhat xhat), the coefficient of (x - mu)
    for (let i = 0; i < L; i++) {
      const v = dy[o + i];
      const xm = x[o + i] - mu;
      dx[o + i] = r * ((gamma ? gamma[i] : 1) * v - P) - kx * xm;
      accG[i] += v * xm * r;
      accB[i] += v;
    }
  }
  for (let i = 0; i < L; i++) {
    dgamma[i] = accG[i];
    dbeta[i] = accB[i];
  }
}
