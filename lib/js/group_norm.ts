/**
 * Pure-TS group norm (instance norm is G = C, cpg = 1): x viewed as
 * [N, G, cpg, M], statistics per (n, g) over its cpg*M contiguous elements.
 * Every sum and intermediate is a float64; only stored results are rounded
 * to float32.
 */
import { isInfinite, rstdOf, runMoments } from './stats';

type F32 = Float32Array;

/**
 * y = gamma[k] * xhat + beta[k] + blend * x, k = (perSample ? n*C : 0) + c;
 * gamma null = 1, beta null = 0. A constant group (M2 = 0) has xhat = 0 for
 * every eps, eps = 0 included. mean/rstd (length N*G) are written when given.
 */
export function groupNormForward(
  x: F32, y: F32, N: number, G: number, cpg: number, M: number,
  gamma: F32 | null, beta: F32 | null, perSample: boolean, blend: number, eps: number,
  meanOut: F32 | null, rstdOut: F32 | null,
): void {
  const C = G * cpg;
  const count = cpg * M;
  const stMean = new Float64Array(1); // statistics of the current group
  const stM2 = new Float64Array(1);
  for (let n = 0; n < N; n++) {
    const kBase = perSample ? n * C : 0;
    for (let g = 0; g < G; g++) {
      const p = n * G + g;
      const o = p * count;
      runMoments(x, o, count, stMean, stM2, 0);
      const mean = stMean[0];
      const m2 = stM2[0];
      const rstd = rstdOf(m2, count, eps);
      const constant = m2 === 0;
      for (let j = 0; j < cpg; j++) {
        const k = kBase + g * cpg + j;
        const scale = constant ? 0 : (gamma ? gamma[k] : 1) * rstd;
        const shift = beta ? beta[k] : 0;
        const s = o + j * M;
        const e = s + M;
        if (blend === 0) {
          for (let i = s; i < e; i++) y[i] = (x[i] - mean) * scale + shift;
        } else {
          for (let i = s; i < e; i++) {
            const v = x[i];
            y[i] = (v - mean) * scale + shift + blend * v;
          }
        }
      }
      if (meanOut) meanOut[p] = mean;
      if (rstdOut) rstdOut[p] = rstd;
    }
  }
}

/**
 * Gradients of groupNormForward. With xhat = (x - mu) r and dxhat = g_c dy:
 *   dx = r (dxhat - mean_G(dxhat) - xhat mean_G(dxhat xhat)) + blend dy,
 *   dgamma[k] = sum over the channel of dy xhat, dbeta[k] = sum of dy
 * (summed over n too unless perSample). r is the saved rstd[n*G + g] when
 * `rstdIn` is given, else recomputed with eps; mu is always recomputed
 * exactly from x (a saved float32 mean has lost precision that matters at
 * large offsets). An infinite r (a constant group with eps = 0) makes the
 * normalization part of the gradient zero: dx = blend dy, no dgamma share.
 */
export function groupNormBackward(
  dy: F32, x: F32, dx: F32, dgamma: F32, dbeta: F32,
  N: number, G: number, cpg: number, M: number,
  gamma: F32 | null, perSample: boolean, blend: number,
  _meanIn: F32 | null, rstdIn: F32 | null, eps: number,
): void {
  const C = G * cpg;
  const count = cpg * M;
  // Per channel of the current group: dy pivot (then mean), sum(dy - pivot),
  // sum(x - pivot_x), sum((dy - pivot)(x - pivot_x)).
  const pdy = new Float64Array(cpg);
  const sE = new Float64Array(cpg);
  const sD = new Float64Array(cpg);
  const sED = new Float64Array(cpg);
  // Channel sums over n (fixed order n = 0..N-1) when the affine is shared.
  const accG = perSample ? null : new Float64Array(C);
  const accB = perSample ? null : new Float64Array(C);

  for (let n = 0; n < N; n++) {
    const kBase = perSample ? n * C : 0;
    for (let g = 0; g < G; g++) {
      const p = n * G + g;
      const o = p * count;
      // Pass 1: pivots.
      let sx = 0;
      for (let j = 0; j < cpg; j++) {
        const s = o + j * M;
        const e = s + M;
        let sdy = 0;
        for (let i = s; i < e; i++) {
          sx += x[i];
          sdy += dy[i];
        }
        pdy[j] = sdy / M;
      }
      const px = sx / count;
      // Pass 2: centred sums.
      let sd = 0;
      let sdd = 0;
      for (let j = 0; j < cpg; j++) {
        const s = o + j * M;
        const e = s + M;
        const q = pdy[j];
        let d1 = 0;
        let e1 = 0;
        let ed = 0;
        for (let i = s; i < e; i++) {
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
      const delta = sd / count;
      const mu = px + delta;
      const r = rstdIn ? rstdIn[p] : rstdOf(Math.max(0, sdd - (sd * sd) / count), count, eps);
      const kg = kBase + g * cpg;

      if (isInfinite(r)) {
        for (let j = 0; j < cpg; j++) {
          const s = o + j * M;
          const e = s + M;
          for (let i = s; i < e; i++) dx[i] = blend * dy[i];
          const db = pdy[j] * M + sE[j];
          if (accB && accG) {
            accB[kg + j] += db;
          } else {
            dgamma[kg + j] = 0;
            dbeta[kg + j] = db;
          }
        }
        continue;
      }

      // Per channel: mean of dy, and T = sum dy (x - mu) = cov + mdy * sum(x - mu).
      // Group reductions: sum_c g_c S_c and sum_c g_c T_c.
      let sumGS = 0;
      let sumGT = 0;
      for (let j = 0; j < cpg; j++) {
        const mdy = pdy[j] + sE[j] / M;
        const cov = sED[j] - (sE[j] * sD[j]) / M;
        const T = cov + mdy * (sD[j] - M * delta);
        const gc = gamma ? gamma[kg + j] : 1;
        sumGS += gc * mdy * M;
        sumGT += gc * T;
        const dg = r * T;
        const db = mdy * M;
        if (accB && accG) {
          accG[kg + j] += dg;
          accB[kg + j] += db;
        } else {
          dgamma[kg + j] = dg;
          dbeta[kg + j] = db;
        }
        pdy[j] = mdy; // now the channel mean of dy
      }
      const P = sumGS / count; // mean_G(dxhat)
      const kx = (r * r * r * sumGT) / count; // r^2 mean_G(dxhat xhat), the coefficient of (x - mu)
      for (let j = 0; j < cpg; j++) {
        const gc = gamma ? gamma[kg + j] : 1;
        const mdy = pdy[j];
        const a = r * gc;
        const c0 = r * (gc * mdy - P); // 0 exactly when cpg = 1
        const s = o + j * M;
        const e = s + M;
        if (blend === 0) {
          for (let i = s; i < e; i++) dx[i] = a * (dy[i] - mdy) - kx * (x[i] - mu) + c0;
        } else {
          for (let i = s; i < e; i++) {
            const v = dy[i];
            dx[i] = a * (v - mdy) - kx * (x[i] - mu) + c0 + blend * v;
          }
        }
      }
    }
  }
  if (accG && accB) {
    for (let c = 0; c < C; c++) {
      dgamma[c] = accG[c];
      dbeta[c] = accB[c];
    }
  }
}
