/**
 * Pure-TS RMS norm: R rows of L, y = gamma * x / sqrt(mean(x^2) + eps).
 * The same op as native/ops/rms_norm.cc, in float64.
 */
import type { RmsNormBackwardDesc, RmsNormDesc } from '../descriptors';
import { isInfinite } from './stats';

/** Mean of squares of row r. */
function meanSquare(x: Float32Array, o: number, L: number): number {
  let s = 0;
  for (let i = o; i < o + L; i++) s += x[i] * x[i];
  return s / L;
}

/** A row of zeros has xhat = 0 for every eps (rstd is infinite when eps = 0). */
export function rmsNormForward(d: RmsNormDesc): void {
  const { rows: R, len: L, x, out: y } = d;
  for (let r = 0; r < R; r++) {
    const o = r * L;
    const ms = meanSquare(x, o, L);
    const rstd = 1 / Math.sqrt(ms + d.eps);
    const scale = ms === 0 ? 0 : rstd;
    for (let i = 0; i < L; i++) y[o + i] = x[o + i] * scale * (d.gamma ? d.gamma[i] : 1);
    if (d.rstd) d.rstd[r] = rstd;
  }
}

/**
 * With xhat = x r: dx = r (g dy - xhat mean(g dy xhat)), dgamma = sum over
 * rows of dy xhat. r is the saved rstd when given, else recomputed; an
 * infinite r (a row of zeros, eps = 0) gives dx = 0 and no dgamma share.
 */
export function rmsNormBackward(d: RmsNormBackwardDesc): void {
  const { rows: R, len: L, x, dy, dx } = d;
  const acc = new Float64Array(L);
  for (let r = 0; r < R; r++) {
    const o = r * L;
    const rstd = d.rstd ? d.rstd[r] : 1 / Math.sqrt(meanSquare(x, o, L) + d.eps);
    if (isInfinite(rstd)) {
      for (let i = 0; i < L; i++) dx[o + i] = 0;
      continue;
    }
    let q = 0; // sum(g dy xhat)
    for (let i = 0; i < L; i++) q += (d.gamma ? d.gamma[i] : 1) * dy[o + i] * x[o + i] * rstd;
    const k = q / L;
    for (let i = 0; i < L; i++) {
      const xh = x[o + i] * rstd;
      const v = dy[o + i];
      dx[o + i] = rstd * ((d.gamma ? d.gamma[i] : 1) * v - xh * k);
      acc[i] += v * xh;
    }
  }
  d.dgamma.set(acc);
}
